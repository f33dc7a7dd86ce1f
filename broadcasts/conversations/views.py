"""The messenger: conversations beside their thread, the reply box (live counting as in the
compose window), status moves, the polled fragments (the list, the open thread's timeline
with its head when its status changed, the unread badge of the navigation and the top bar),
and the digest opt-in.

Reading needs "view text logs"; replying needs "send texts" too. Conversations are found
through the request's organization only: another organization's id is a 404.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from broadcasts.conversations import selectors, services
from broadcasts.conversations.models import Conversation
from broadcasts.recipients import BroadcastRefused
from smsvoice.permissions import send_texts_required, text_logs_required

PAGE_SIZE = 30


def conversation_or_404(request: HttpRequest, pk: int) -> Conversation:
    found = Conversation.objects.for_org(request.organization).select_related("organization")
    return get_object_or_404(found, pk=pk)


def _list_context(request: HttpRequest) -> dict:
    filters = selectors.Filters.from_query(request.GET)
    found = selectors.conversations_matching(
        organization=request.organization, staff_member=request.staff_member, filters=filters
    )
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    owners = selectors.owners_by_number(
        organization=request.organization, e164s=[c.e164 for c in page]
    )
    rows = [(c, owners[c.e164]) for c in page]
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("current", None)
    return {
        "filters": filters,
        "page": page,
        "rows": rows,
        "query": query.urlencode(),
        "statuses": Conversation.Status.choices,
        "poll_seconds": getattr(settings, "CONVERSATIONS_POLL_SECONDS", 20),
    }


@text_logs_required
def messenger(request: HttpRequest) -> HttpResponse:
    return render(request, "conversations/messenger.html", _list_context(request))


@text_logs_required
def conversation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The thread beside the list; opening it is reading it (unread becomes open)."""
    conversation = conversation_or_404(request, pk)
    conversation = services.conversation_read(conversation=conversation, by=request.staff_member)
    return render(
        request,
        "conversations/messenger.html",
        {**_list_context(request), **_thread_context(request, conversation)},
    )


def _omit(request: HttpRequest) -> bool:
    return request.POST.get("omit_header_footer") == "on"


def _thread_context(request: HttpRequest, conversation: Conversation, text: str = "") -> dict:
    omit = _omit(request) if request.method == "POST" else False
    return {
        "thread": selectors.thread(conversation=conversation),
        "conversation": conversation,
        "reply_text": text,
        "preview": selectors.reply_preview(
            conversation=conversation,
            staff_member=request.staff_member,
            text=text,
            omit_header_footer=omit,
        ),
        "refusal": selectors.reply_refusal(
            conversation=conversation, staff_member=request.staff_member
        ),
        "moves": _moves(conversation),
        "head_state": head_state(conversation),
        "poll_seconds": getattr(settings, "CONVERSATIONS_POLL_SECONDS", 20),
    }


def _moves(conversation: Conversation) -> list[tuple[str, str]]:
    labels = {"open": "Reopen", "closed": "Close", "unread": "Mark unread"}
    if conversation.status == Conversation.Status.UNREAD:
        labels["open"] = "Mark read"
    return [
        (to, labels[to])
        for start, to in sorted(Conversation.STAFF_MOVES)
        if start == conversation.status
    ]


@text_logs_required
def rows(request: HttpRequest) -> HttpResponse:
    """The list again (htmx polling), with the filters and page it was shown with."""
    context = _list_context(request)
    current = request.GET.get("current", "")
    if current.isdigit():
        context["conversation"] = (
            Conversation.objects.for_org(request.organization).filter(pk=int(current)).first()
        )
    return render(request, "conversations/_rows.html", context)


def head_state(conversation: Conversation) -> str:
    """What the thread's head shows that others change: its status and who has it."""
    return f"{conversation.status}-{conversation.assignee_id or 0}"


@text_logs_required
def timeline(request: HttpRequest, pk: int) -> HttpResponse:
    """The open thread's timeline again (htmx polling); reading it changes no status. When
    the status or the assignee is not the one the page shows (``seen``), the head with its
    badge and buttons comes too, swapped out of band; otherwise it is left alone, so a
    button someone is about to press (or has focused) is not replaced every poll."""
    conversation = conversation_or_404(request, pk)
    state = head_state(conversation)
    context = {
        "thread": selectors.thread(conversation=conversation),
        "conversation": conversation,
        "poll_seconds": getattr(settings, "CONVERSATIONS_POLL_SECONDS", 20),
        "head_state": state,
        "head_changed": request.GET.get("seen") != state,
        "moves": _moves(conversation),
    }
    return render(request, "conversations/_timeline_poll.html", context)


@text_logs_required
@require_POST
def reply_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The reply box's live counting (htmx), the compose window's preview for one number."""
    conversation = conversation_or_404(request, pk)
    preview = selectors.reply_preview(
        conversation=conversation,
        staff_member=request.staff_member,
        text=request.POST.get("text", ""),
        omit_header_footer=_omit(request),
    )
    return render(request, "broadcasts/_preview.html", {"preview": preview, "noun": "numbers"})


@send_texts_required
@text_logs_required
@require_POST
def reply(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = conversation_or_404(request, pk)
    text = request.POST.get("text", "")
    try:
        services.conversation_reply(
            conversation=conversation,
            sender=request.staff_member,
            text=text,
            omit_header_footer=_omit(request),
        )
    except BroadcastRefused as refused:
        messages.error(request, f"Not sent: {refused}")
        context = {**_list_context(request), **_thread_context(request, conversation, text)}
        return render(request, "conversations/messenger.html", context, status=400)
    messages.success(request, "Reply sent.")
    return redirect(reverse("conversations:detail", args=[conversation.pk]) + "#reply")


@text_logs_required
@require_POST
def status_change(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = conversation_or_404(request, pk)
    to = request.POST.get("to", "")
    try:
        services.conversation_move(conversation=conversation, to=to, by=request.staff_member)
    except services.MoveRefused as refused:
        messages.error(request, str(refused))
    if to == Conversation.Status.UNREAD:  # opening it again would read it: back to the list
        return redirect("conversations:list")
    return redirect("conversations:detail", pk=conversation.pk)


@text_logs_required
@require_POST
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = conversation_or_404(request, pk)
    mine = request.POST.get("to") != "nobody"
    services.conversation_assign(
        conversation=conversation, to=request.staff_member if mine else None
    )
    return redirect("conversations:detail", pk=conversation.pk)


@text_logs_required
def unread_badge(request: HttpRequest) -> HttpResponse:
    """The navigation's count, polled by htmx (every CONVERSATIONS_POLL_SECONDS): the link,
    and the top bar's icon out of band."""
    from broadcasts.templatetags.conversations import badge_context

    return render(request, "conversations/_messenger_badges.html", badge_context(request))


@text_logs_required
@require_POST
def digest_toggle(request: HttpRequest) -> HttpResponse:
    member = request.staff_member
    member.conversation_digest = request.POST.get("on") == "1"
    member.save(update_fields=["conversation_digest"])
    if member.conversation_digest:
        messages.success(request, "You will get an hourly email of new conversations.")
    else:
        messages.success(request, "No more conversation emails.")
    return redirect("conversations:list")


@text_logs_required
@require_POST
def review_decide(request: HttpRequest, pk: int, review_pk: int) -> HttpResponse:
    """One click on a reply that may revoke consent: "opt this number out" or "not a
    revocation" (the message rules' services record who decided and when)."""
    from django.core.exceptions import ValidationError

    from broadcasts.sms import optouts
    from families.models import RevocationReview

    conversation = conversation_or_404(request, pk)
    review = get_object_or_404(
        RevocationReview.objects.for_org(request.organization),
        pk=review_pk,
        e164=conversation.e164,
    )
    decide = {"opt_out": optouts.revocation_confirm, "dismiss": optouts.revocation_dismiss}
    action = decide.get(request.POST.get("action", ""))
    if action is None:
        messages.error(request, "Choose “Opt this number out” or “Not a revocation”.")
    else:
        try:
            action(review=review, actor=request.user)
        except ValidationError as refused:
            messages.error(request, " ".join(refused.messages))
        else:
            messages.success(request, f"Recorded: {review.get_verdict_display()}.")
    return redirect(reverse("conversations:detail", args=[conversation.pk]) + "#thread")
