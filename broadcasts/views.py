"""Staff pages for SMS broadcasts: compose, progress, the audit log, and the demo outbox."""

from __future__ import annotations

import csv

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from broadcasts.drafts import draft_clear, draft_get, draft_save
from broadcasts.engine import refund
from broadcasts.models import Broadcast, OutboxMessage, Recipient, SendingNumber
from broadcasts.numbers import sending_number_buy, sending_number_release, sending_numbers_search
from broadcasts.progress import progress_view
from broadcasts.recipients import BroadcastRefused
from broadcasts.selectors import audit_entries, sending_number_active
from broadcasts.sms import segments
from broadcasts.sms.compose import broadcast_create, broadcast_preview
from broadcasts.sms.delivery import delivery_status_record
from broadcasts.sms.replies import inbound_sms_handle
from broadcasts.sms.single import KINDS as SINGLE_KINDS
from broadcasts.voice.outbox_calls import OUTBOX_ANSWER_SECONDS, outbox_calls_settle
from families.selection import KINDS, selection_from_session, selection_to_session
from smsvoice.http import safe_next
from smsvoice.localtime import organization_zone, stream_in_zone
from smsvoice.models import StaffMember
from smsvoice.permissions import (
    send_texts_required,
    sends_or_views_texts_required,
    text_logs_required,
)
from smsvoice.tenancy import admin_required

NOUNS = {"families": "families", "students": "students", "staff": "staff members"}
SHOW_CHOICES = (
    ("broadcasts", "Broadcasts"),
    ("one-off", "Signup messages and other one-off texts"),
    ("all", "All"),
)


def kind_or_404(kind: str) -> str:
    if kind not in KINDS:
        raise Http404("Unknown list")
    return kind


@send_texts_required
def compose(request: HttpRequest, kind: str) -> HttpResponse:
    """The SMS compose window: live counts and cost, a confirmation step, then send. What is
    typed is kept as a draft for this selection until it is sent or discarded."""
    kind = kind_or_404(kind)
    selection = selection_from_session(request.session, kind=kind)
    draft = {"session": request.session, "channel": "sms", "selection": selection}
    action = request.POST.get("action", "")
    # Opening the window restores the draft; every post carries what is in the box.
    text = request.POST.get("text", "") if request.method == "POST" else draft_get(**draft)
    omit = request.POST.get("omit_header_footer") == "on"
    refused = ""
    if action == "plain":
        text = segments.plain_equivalents(text)
    if action == "discard":
        text = ""
    if request.method == "POST":
        draft_save(**draft, text=text)
    if action == "send" and request.method == "POST":
        try:
            broadcast = broadcast_create(
                organization=request.organization,
                sender=request.staff_member,
                selection=selection,
                text=text,
                omit_header_footer=omit,
            )
        except BroadcastRefused as error:
            refused = str(error)
        else:
            # No "Sending N messages" message: the broadcast page's banner follows the status.
            draft_clear(**draft)
            selection_to_session(request.session, selection=type(selection)(kind=kind))
            if request.headers.get("HX-Request"):  # from the dialog: the browser goes there
                response = HttpResponse(status=204)
                response["HX-Redirect"] = reverse("broadcasts:detail", args=[broadcast.pk])
                return response
            return redirect("broadcasts:detail", pk=broadcast.pk)
    preview = broadcast_preview(
        organization=request.organization,
        selection=selection,
        text=text,
        omit_header_footer=omit,
    )
    template = "broadcasts/compose.html"
    if request.headers.get("HX-Request"):  # the list's SMS icon opens it as a dialog
        template = "broadcasts/_compose_" + ("form" if request.method == "POST" else "dialog")
        template += ".html"
    return render(
        request,
        template,
        {
            "kind": kind,
            "noun": NOUNS[kind],
            "text": text,
            "preview": preview,
            "plain_available": plain_available(text),
            "draft_kept": bool(text.strip()),
            "confirming": action == "confirm" and preview.can_send,
            "refused": refused,
            "back_url": safe_next(request, f"/{kind}/"),
        },
    )


def plain_available(text: str) -> bool:
    """Offer "Use plain equivalents" only when it would change something (an emoji has none)."""
    return segments.plain_equivalents(text) != text


@send_texts_required
@require_POST
def compose_preview(request: HttpRequest, kind: str) -> HttpResponse:
    """The compose window's live part (htmx): recounted as the message is typed, and the
    draft kept."""
    kind = kind_or_404(kind)
    selection = selection_from_session(request.session, kind=kind)
    text = request.POST.get("text", "")
    draft_save(request.session, channel="sms", selection=selection, text=text)
    preview = broadcast_preview(
        organization=request.organization,
        selection=selection,
        text=text,
        omit_header_footer=request.POST.get("omit_header_footer") == "on",
    )
    context = {
        "preview": preview,
        "noun": NOUNS[kind],
        "plain_available": plain_available(text),
        "draft_kept": bool(text.strip()),
    }
    return render(request, "broadcasts/_preview.html", context)


@sends_or_views_texts_required
def broadcast_list(request: HttpRequest) -> HttpResponse:
    broadcasts = Broadcast.objects.for_org(request.organization).select_related("sender")
    # Texts of one (signup messages, replies) are listed apart, not among the broadcasts.
    show = request.GET.get("show", "")
    show = show if show in dict(SHOW_CHOICES) else "broadcasts"
    one_off = Q(selection_kind__in=SINGLE_KINDS)
    if show == "one-off":
        broadcasts = broadcasts.filter(one_off)
    elif show == "broadcasts":
        broadcasts = broadcasts.exclude(one_off)
    page = Paginator(broadcasts, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "broadcasts/list.html",
        {
            "page": page,
            "show": show,
            "show_choices": SHOW_CHOICES,
            "sms_outbox": settings.SMS_BACKEND == "outbox",
        },
    )


def _broadcast_or_404(request: HttpRequest, pk: int) -> Broadcast:
    return get_object_or_404(Broadcast.objects.for_org(request.organization), pk=pk)


def progress_context(request: HttpRequest, broadcast: Broadcast) -> dict:
    """What the progress fragments need; in the demo, calls that rang long enough end first."""
    if broadcast.channel == Broadcast.Channel.VOICE:
        outbox_calls_settle(organization=request.organization, broadcast=broadcast)
        broadcast.refresh_from_db()
    return {
        "broadcast": broadcast,
        "view": progress_view(broadcast=broadcast),
        "outbox": settings.SMS_BACKEND == "outbox",
        "outbox_answer_seconds": OUTBOX_ANSWER_SECONDS,
    }


@sends_or_views_texts_required
def broadcast_detail(request: HttpRequest, pk: int) -> HttpResponse:
    broadcast = _broadcast_or_404(request, pk)
    context = progress_context(request, broadcast)
    status = request.GET.get("status", "")
    recipients = broadcast.recipients.order_by("id")
    if status in Recipient.Status.values:
        recipients = recipients.filter(status=status)
    page = Paginator(recipients, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "broadcasts/detail.html",
        {
            **context,
            "page": page,
            "status": status,
            "statuses": Recipient.Status.choices,
        },
    )


@sends_or_views_texts_required
def broadcast_progress_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    broadcast = _broadcast_or_404(request, pk)
    context = progress_context(request, broadcast)
    return progress_answer(request, render(request, "broadcasts/_progress.html", context), context)


def progress_answer(request: HttpRequest, response: HttpResponse, context: dict) -> HttpResponse:
    """The poll that sees the broadcast finish reloads the page once, so the recipients'
    table below the progress shows how each one ended, not how it was when the page opened."""
    if request.GET.get("polling") and not context["view"].live:
        response["HX-Refresh"] = "true"
    return response


@send_texts_required
@require_POST
def broadcast_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    broadcast = _broadcast_or_404(request, pk)
    cancelled = refund.broadcast_cancel(broadcast=broadcast)
    refunded = ngettext(
        "Cancelled; %(n)s unsent message was refunded.",
        "Cancelled; %(n)s unsent messages were refunded.",
        cancelled,
    )
    messages.success(request, refunded % {"n": f"{cancelled:,}"})
    return redirect("broadcasts:detail", pk=broadcast.pk)


# --- the audit log ---


def _audit_filtered(request: HttpRequest):
    entries = audit_entries(organization=request.organization)
    query = request.GET
    start, end = parse_date(query.get("from", "") or ""), parse_date(query.get("to", "") or "")
    if start:
        entries = entries.filter(sent_at__date__gte=start)
    if end:
        entries = entries.filter(sent_at__date__lte=end)
    if query.get("family", "").strip():
        entries = entries.filter(
            Q(family__name__icontains=query["family"].strip())
            | Q(owner_label__icontains=query["family"].strip())
        )
    if query.get("sender", "").isdigit():
        entries = entries.filter(sender_id=int(query["sender"]))
    if query.get("broadcast", "").isdigit():
        entries = entries.filter(broadcast_id=int(query["broadcast"]))
    return entries


@text_logs_required
def audit_log(request: HttpRequest) -> HttpResponse:
    entries = _audit_filtered(request)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    senders = StaffMember.objects.for_org(request.organization).filter(user__isnull=False)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "broadcasts/audit.html",
        {
            "page": page,
            "senders": senders,
            "q": request.GET,
            "query": query.urlencode(),
        },
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


@text_logs_required
def audit_log_csv(request: HttpRequest) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    zone = organization_zone(request.organization)
    # Times in the organization's zone, as on the page, and the header says which.
    header = [
        f"sent_at ({zone.key})",
        "sender",
        "number",
        "recipient",
        "family",
        "broadcast",
        "parts",
        "credits",
        "provider_id",
        "text",
    ]

    def rows():
        yield writer.writerow(header)
        for entry in _audit_filtered(request).iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    timezone.localtime(entry.sent_at).isoformat(),
                    entry.sender_label,
                    entry.e164,
                    entry.owner_label,
                    entry.family.name if entry.family else "",
                    entry.broadcast_id,
                    entry.parts,
                    entry.credits,
                    entry.provider_sid,
                    _csv_safe(entry.text),
                ]
            )

    stamp = timezone.localdate().isoformat()
    response = StreamingHttpResponse(stream_in_zone(zone, rows()), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="audit-log-{stamp}.csv"'
    return response


def _csv_safe(text: str) -> str:
    # A spreadsheet would run a cell starting with = + - @ as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


# --- the outbox of the embedded default ---


def _outbox_numbers(request: HttpRequest) -> list[str]:
    return list(SendingNumber.objects.for_org(request.organization).values_list("e164", flat=True))


@text_logs_required
def outbox(request: HttpRequest) -> HttpResponse:
    """What the demo 'sent', and a way to reply as the phone would (STOP, START, HELP)."""
    if settings.SMS_BACKEND != "outbox":
        raise Http404("The outbox exists only when no SMS provider is configured.")
    outbox_calls_settle(organization=request.organization)
    numbers = _outbox_numbers(request)
    sent = OutboxMessage.objects.filter(from_e164__in=numbers)
    page = Paginator(sent, 50).get_page(request.GET.get("page"))
    replies = request.organization.inboundmessage_set.all()[:20]
    return render(
        request,
        "broadcasts/outbox.html",
        {
            "page": page,
            "replies": replies,
            "reply_from": request.GET.get("from", ""),
        },
    )


@text_logs_required
@require_POST
def outbox_reply(request: HttpRequest) -> HttpResponse:
    if settings.SMS_BACKEND != "outbox":
        raise Http404("The outbox exists only when no SMS provider is configured.")
    numbers = _outbox_numbers(request)
    sender = request.POST.get("from", "").strip()
    if not numbers:
        messages.error(request, "There is no sending number to reply to yet.")
        return redirect("broadcasts:outbox")
    if not OutboxMessage.objects.filter(from_e164__in=numbers, to_e164=sender).exists():
        return HttpResponseBadRequest("Reply from a number this organization has texted.")
    reply = inbound_sms_handle(
        to_e164=numbers[0], from_e164=sender, body=request.POST.get("body", "")
    )
    if reply:
        OutboxMessage.objects.create(
            sid=f"SMreply{OutboxMessage.objects.count() + 1:026d}",
            from_e164=numbers[0],
            to_e164=sender,
            body=reply,
            status="delivered",
        )
        messages.success(request, f"{sender} replied; the automatic answer was: {reply}")
    else:
        messages.info(
            request, f"{sender} replied; the text is in the Messenger for staff to answer."
        )
    return redirect("broadcasts:outbox")


@text_logs_required
@require_POST
def outbox_deliver(request: HttpRequest) -> HttpResponse:
    """Play the carrier: report every sent outbox message as delivered (or undelivered)."""
    if settings.SMS_BACKEND != "outbox":
        raise Http404("The outbox exists only when no SMS provider is configured.")
    final = "undelivered" if request.POST.get("status") == "undelivered" else "delivered"
    pending = OutboxMessage.objects.filter(
        from_e164__in=_outbox_numbers(request), kind=OutboxMessage.Kind.SMS, status="sent"
    )
    if request.POST.get("sid"):
        pending = pending.filter(sid=request.POST["sid"])
    count = 0
    for message in pending[:5000]:
        delivery_status_record(
            sid=message.sid, status=final, error_code="30003" if final == "undelivered" else ""
        )
        OutboxMessage.objects.filter(pk=message.pk).update(status=final)
        count += 1
    reported = ngettext(
        "%(n)s message reported %(final)s.", "%(n)s messages reported %(final)s.", count
    )
    messages.success(request, reported % {"n": f"{count:,}", "final": final})
    return redirect("broadcasts:outbox")


# --- the sending number (Settings > SMS & Voice) ---


@admin_required
def sending_number(request: HttpRequest) -> HttpResponse:
    """Search numbers by area code, buy one (or replace the current one), or release it."""
    org = request.organization
    found, area_code = [], request.GET.get("area_code", "").strip()
    try:
        if request.method == "POST" and request.POST.get("action") == "buy":
            number = sending_number_buy(
                organization=org, phone_number=request.POST.get("phone_number", "")
            )
            messages.success(request, f"{number.e164} is now your sending number.")
            if not number.messaging_service_sid:  # the Messaging Service failed (issue 11)
                messages.error(
                    request,
                    "Its Messaging Service is not set up yet, so texts are refused until it is: "
                    "see “Ready to text?” on Settings > SMS & Voice (it is retried by itself).",
                )
            return redirect("broadcasts:sending_number")
        if request.method == "POST" and request.POST.get("action") == "release":
            released = sending_number_release(organization=org)
            if released:
                messages.success(request, f"{released.e164} was released.")
            return redirect("broadcasts:sending_number")
        if "area_code" in request.GET:
            found = sending_numbers_search(organization=org, area_code=area_code)
    except BroadcastRefused as refused:
        messages.error(request, str(refused))
    from credits.selectors import credit_account

    account = credit_account(organization=org)
    return render(
        request,
        "broadcasts/sending_number.html",
        {
            "current": sending_number_active(organization=org),
            "found": found,
            "area_code": area_code,
            "has_card": bool(account and account.has_card),
        },
    )
