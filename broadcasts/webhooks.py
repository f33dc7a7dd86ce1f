"""Twilio's calls to us: delivery status callbacks and inbound texts.

Verified first (403 for a bad or missing signature), then tolerant (200 for ids we don't
know, so Twilio stops retrying) and idempotent (a replayed callback changes nothing).
The signature is checked against the public URL (SITE_URL + path), which is the address
Twilio signed, so it stays correct behind a proxy or load balancer that rewrites the host.

A signed request whose fields are not what Twilio sends (a sid that is no sid, an error code
that is no number, an inbound text from ``whatsapp:+1…`` or anything else that is not an E.164
number) is answered 200 with nothing written: it is nothing we can record, and Twilio repeating
it would not change that. ``twilio_params_problem`` says what is wrong.
"""

from __future__ import annotations

import logging
import re
from xml.sax.saxutils import escape

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from broadcasts.sms.delivery import delivery_status_record
from broadcasts.sms.replies import inbound_sms_handle

logger = logging.getLogger(__name__)

E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_FORMATS = {
    # Twilio's sids are two letters and 32 hex digits; we store up to 64 letters and digits.
    **dict.fromkeys(
        ("MessageSid", "SmsSid", "CallSid", "RecordingSid", "AccountSid", "ParentCallSid"),
        re.compile(r"[A-Za-z0-9]{1,64}"),
    ),
    **dict.fromkeys(
        ("MessageStatus", "SmsStatus", "CallStatus", "RecordingStatus"), re.compile(r"[a-z-]{1,20}")
    ),
    "ErrorCode": re.compile(r"[0-9]{0,10}"),
    **dict.fromkeys(("CallDuration", "RecordingDuration", "Duration"), re.compile(r"[0-9]{0,9}")),
}
_NUMBERS = ("From", "To")


def twilio_params_problem(params, *, numbers: bool = False) -> str | None:
    """What makes a signed request's fields unusable, or None. ``numbers``: From and To must
    be E.164 numbers too (an inbound text, whose numbers are stored)."""
    for name, pattern in _FORMATS.items():
        value = params.get(name)
        if value is not None and not pattern.fullmatch(value):
            return f"{name} is not in Twilio's format"
    for name in _NUMBERS if numbers else ():
        if not E164.fullmatch(params.get(name, "")):
            return f"{name} is not an E.164 phone number"
    return None


def _ignored(problem: str, *, twiml: bool = False) -> HttpResponse:
    logger.warning("ignored a signed Twilio webhook: %s", problem)
    if twiml:
        return _twiml(None)
    return HttpResponse(f"ignored: {problem}", content_type="text/plain")


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
    if problem := twilio_params_problem(request.POST):
        return _ignored(problem)
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
    if problem := twilio_params_problem(request.POST, numbers=True):
        return _ignored(problem, twiml=True)
    reply = inbound_sms_handle(
        to_e164=request.POST.get("To", ""),
        from_e164=request.POST.get("From", ""),
        body=request.POST.get("Body", ""),
        sid=request.POST.get("MessageSid", ""),
        # Advanced Opt-Out answered the keyword itself: one answer, not two (issue 12).
        provider_answered=bool(request.POST.get("OptOutType")),
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
