"""Twilio's calls to us: delivery status callbacks and inbound texts.

Verified first (403 for a bad or missing signature), then tolerant (200 for ids we don't
know, so Twilio stops retrying) and idempotent (a replayed callback changes nothing).
The signature is checked against the public URL (SITE_URL + path), which is the address
Twilio signed, so it stays correct behind a proxy or load balancer that rewrites the host.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from broadcasts.sms.delivery import delivery_status_record
from broadcasts.sms.replies import inbound_sms_handle


def signed_by_twilio(request: HttpRequest) -> bool:
    from broadcasts.providers.twilio import webhook_signature_valid

    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not settings.TWILIO_AUTH_TOKEN:
        return False
    url = settings.SITE_URL + request.get_full_path()
    return webhook_signature_valid(url=url, params=request.POST, signature=signature)


def _twiml(message: str | None) -> HttpResponse:
    body = f"<Message>{escape(message)}</Message>" if message else ""
    xml = f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>'
    return HttpResponse(xml, content_type="application/xml")


@csrf_exempt
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    if not signed_by_twilio(request):
        return HttpResponseForbidden("Invalid signature")
    sid = request.POST.get("MessageSid", "")
    status = request.POST.get("MessageStatus", "")
    if sid and status:
        delivery_status_record(
            sid=sid, status=status, error_code=request.POST.get("ErrorCode", "")
        )
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def twilio_sms_inbound(request: HttpRequest) -> HttpResponse:
    if not signed_by_twilio(request):
        return HttpResponseForbidden("Invalid signature")
    reply = inbound_sms_handle(
        to_e164=request.POST.get("To", ""),
        from_e164=request.POST.get("From", ""),
        body=request.POST.get("Body", ""),
        sid=request.POST.get("MessageSid", ""),
    )
    return _twiml(reply)


@csrf_exempt
@require_POST
def twilio_voice_inbound(request: HttpRequest) -> HttpResponse:
    """Someone called the sending number: say whose it is and how to reach them."""
    if not signed_by_twilio(request):
        return HttpResponseForbidden("Invalid signature")
    from broadcasts.models import SendingNumber

    number = (
        SendingNumber.objects.select_related("organization")
        .filter(e164=request.POST.get("To", ""), status="active")
        .first()
    )
    if number is None:
        say = "This number is not in service."
    else:
        org = number.organization
        contact = f" Please call {org.contact_phone}." if org.contact_phone else ""
        say = f"This number sends messages for {org.name} and cannot take calls.{contact}"
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><Response><Say>{escape(say)}</Say>'
        "<Hangup/></Response>"
    )
    return HttpResponse(xml, content_type="application/xml")
