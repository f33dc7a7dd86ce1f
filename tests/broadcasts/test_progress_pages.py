"""The broadcast page people watch while it sends: a banner that follows the status, a stacked
bar and a table of the counts, polling that stops once nothing can change by itself, and the
demo's calls that end by themselves."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from broadcasts.models import AuditLogEntry, Broadcast, OutboxMessage, Recipient
from broadcasts.sms.compose import broadcast_create
from broadcasts.voice.outbox_calls import OUTBOX_ANSWER_SECONDS, outbox_calls_settle
from families.selection import selection_to_session
from tests.broadcasts.sms_helpers import families_selection, family_with_number, sender_ready

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def outbox(settings):
    from smsvoice.celery import app

    settings.SMS_BACKEND = "outbox"
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def sms_broadcast(org, staff_member, count, capture=None):
    sender_ready(org, credits=50)
    families = [family_with_number(org) for _ in range(count)]
    create = {
        "organization": org,
        "sender": staff_member,
        "selection": families_selection(*families),
        "text": "Closed today",
    }
    if capture is None:
        return broadcast_create(**create)
    with capture(execute=True):
        return broadcast_create(**create)


def fragment(client, broadcast) -> str:
    return client.get(reverse("broadcasts:progress", args=[broadcast.pk])).content.decode()


def bar(html: str) -> dict[str, int]:
    found = re.findall(r'width="(\d+)" height="20" data-segment="(\w+)"', html)
    return {key: int(width) for width, key in found}


def test_a_queued_broadcast_says_so_and_keeps_polling(staff_client, org, staff_member):
    broadcast = sms_broadcast(org, staff_member, 2)  # on_commit never ran: nothing went out
    html = fragment(staff_client, broadcast)
    assert "Queued: 2 messages will go out shortly." in html
    assert 'hx-trigger="every 2s"' in html
    assert 'data-testid="count-pending">2<' in html
    assert bar(html) == {"pending": 1000}
    assert "Cancel the rest" in html


def test_while_sending_the_banner_counts_what_is_done(staff_client, org, staff_member):
    broadcast = sms_broadcast(org, staff_member, 4)
    Broadcast.objects.filter(pk=broadcast.pk).update(status=Broadcast.Status.SENDING)
    first, second, *_ = broadcast.recipients.order_by("id")
    Recipient.objects.filter(pk=first.pk).update(status="delivered")
    Recipient.objects.filter(pk=second.pk).update(status="failed")
    html = fragment(staff_client, broadcast)
    assert "Sending 4 messages: 2 of 4 done so far." in html
    assert bar(html) == {"delivered": 250, "failed": 250, "pending": 500}
    assert 'data-testid="count-total">4<' in html
    assert 'hx-trigger="every 2s"' in html


def test_once_done_the_banner_says_done_and_polling_stops(
    staff_client, org, staff_member, outbox, django_capture_on_commit_callbacks
):
    broadcast = sms_broadcast(org, staff_member, 3, django_capture_on_commit_callbacks)
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.DONE
    page = staff_client.get(reverse("broadcasts:detail", args=[broadcast.pk])).content.decode()
    assert "Done: 3 messages went out." in page
    assert "Sending" not in page.split("<h2>Recipients</h2>")[0]
    assert 'hx-trigger="every 2s"' not in page
    assert "Cancel the rest" not in page
    assert 'data-testid="count-sent">3<' in page and bar(page) == {"sent": 1000}
    assert 'data-testid="broadcast-status">Done<' in page


def test_a_done_broadcast_with_failures_says_how_many_were_refunded(
    staff_client, org, staff_member
):
    broadcast = sms_broadcast(org, staff_member, 2)
    Broadcast.objects.filter(pk=broadcast.pk).update(status=Broadcast.Status.DONE)
    first, second = broadcast.recipients.order_by("id")
    Recipient.objects.filter(pk=first.pk).update(status="delivered")
    Recipient.objects.filter(pk=second.pk).update(status="undelivered")
    html = fragment(staff_client, broadcast)
    assert "Done: 1 of 2 messages went out; 1 failed and was refunded." in html


def test_a_cancelled_broadcast_says_what_went_out(staff_client, org, staff_member):
    broadcast = sms_broadcast(org, staff_member, 2)
    staff_client.post(reverse("broadcasts:cancel", args=[broadcast.pk]))
    html = fragment(staff_client, broadcast)
    assert "Cancelled: 0 of 2 messages went out before it was stopped" in html
    assert 'hx-trigger="every 2s"' not in html
    assert bar(html) == {"skipped": 1000}


def test_sending_from_the_dialog_no_longer_flashes_a_sending_banner(
    staff_client, org, outbox, django_capture_on_commit_callbacks
):
    sender_ready(org, credits=10)
    session = staff_client.session
    selection_to_session(session, selection=families_selection(family_with_number(org)))
    session.save()
    with django_capture_on_commit_callbacks(execute=True):
        sent = staff_client.post(
            reverse("broadcasts:compose", args=["families"]), {"text": "Hi", "action": "send"}
        )
    html = staff_client.get(sent["Location"]).content.decode()
    assert "Sending 1 messages" not in html and 'class="messages"' not in html
    assert "Done: 1 message went out." in html


# --- voice ---


def tts_broadcast(client, org, families, capture):
    session = client.session
    selection_to_session(session, selection=families_selection(*families))
    session.save()
    form = {"action": "send", "text": "No class tonight.", "voice": "Polly.Joanna"}
    with capture(execute=True):
        response = client.post(
            reverse("broadcasts:voice_compose", args=["families"]),
            {**form, "language": "en-US"},
            **HTMX,
        )
    assert response.status_code == 204, response.content.decode()
    return Broadcast.objects.get(channel="voice")


def voice_fragment(client, broadcast) -> str:
    url = reverse("broadcasts:voice_progress", args=[broadcast.pk])
    return client.get(url).content.decode()


def age_outbox_calls(seconds):
    OutboxMessage.objects.filter(kind="call").update(
        created_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_the_demos_calls_end_by_themselves_as_answered_and_the_page_stops_polling(
    staff_client, org, outbox, django_capture_on_commit_callbacks
):
    sender_ready(org, credits=20)
    families = [family_with_number(org) for _ in range(2)]
    broadcast = tts_broadcast(staff_client, org, families, django_capture_on_commit_callbacks)
    assert OutboxMessage.objects.filter(kind="call").count() == 2

    html = voice_fragment(staff_client, broadcast)  # just placed: still ringing
    assert "Calling 2 numbers: 0 of 2 done so far." in html
    assert 'hx-trigger="every 2s"' in html
    assert f"answered by themselves after {OUTBOX_ANSWER_SECONDS} seconds" in html

    age_outbox_calls(OUTBOX_ANSWER_SECONDS + 1)
    html = voice_fragment(staff_client, broadcast)
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.DONE
    assert "Done: 2 of 2 numbers answered." in html
    assert 'hx-trigger="every 2s"' not in html
    assert bar(html) == {"answered": 1000}
    assert set(OutboxMessage.objects.filter(kind="call").values_list("status", flat=True)) == {
        "completed"
    }
    # The same path as Twilio's status callback: one audit entry per answered call.
    assert AuditLogEntry.objects.filter(broadcast=broadcast).count() == 2


def test_the_outbox_page_settles_overdue_calls_too_and_only_this_organizations(
    staff_client, org, other_org, outbox, django_capture_on_commit_callbacks
):
    sender_ready(org, credits=20)
    broadcast = tts_broadcast(
        staff_client, org, [family_with_number(org)], django_capture_on_commit_callbacks
    )
    age_outbox_calls(OUTBOX_ANSWER_SECONDS + 1)
    assert outbox_calls_settle(organization=other_org) == 0
    staff_client.get(reverse("broadcasts:outbox"))
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.DONE


def test_the_manual_outcome_buttons_stay(
    staff_client, org, outbox, django_capture_on_commit_callbacks
):
    sender_ready(org, credits=20)
    broadcast = tts_broadcast(
        staff_client, org, [family_with_number(org)], django_capture_on_commit_callbacks
    )
    assert 'value="busy">busy<' in voice_fragment(staff_client, broadcast)
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(
            reverse("broadcasts:voice_simulate_answers", args=[broadcast.pk]),
            {"outcome": "machine"},
        )
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.DONE
    assert "by voicemail" in voice_fragment(staff_client, broadcast)


def test_a_recording_broadcast_polls_so_the_page_follows_it_out(staff_client, org, staff_member):
    broadcast = Broadcast.objects.create(
        organization=org,
        channel=Broadcast.Channel.VOICE,
        status=Broadcast.Status.RECORDING,
        selection_kind="families",
        sender=staff_member,
        sender_label="Jo",
        from_e164="+14155550100",
        recipient_count=3,
    )
    from broadcasts.models import VoiceMessage

    VoiceMessage.objects.create(broadcast=broadcast, source=VoiceMessage.Source.RECORDING)
    html = voice_fragment(staff_client, broadcast)
    assert "Recording by phone: 3 numbers will be called once the recording is done." in html
    assert 'hx-trigger="every 2s"' in html
    Broadcast.objects.filter(pk=broadcast.pk).update(status=Broadcast.Status.WAITING)
    html = voice_fragment(staff_client, broadcast)
    assert "Waiting for credits: nobody has been called yet." in html
    assert 'hx-trigger="every 2s"' not in html and "Send now" in html


def test_the_poll_that_sees_the_end_reloads_the_page_once(staff_client, org, staff_member):
    broadcast = sms_broadcast(org, staff_member, 1)
    url = reverse("broadcasts:progress", args=[broadcast.pk])
    assert "HX-Refresh" not in staff_client.get(url, {"polling": "1"}, **HTMX).headers
    Broadcast.objects.filter(pk=broadcast.pk).update(status=Broadcast.Status.DONE)
    assert staff_client.get(url, {"polling": "1"}, **HTMX)["HX-Refresh"] == "true"
    assert "HX-Refresh" not in staff_client.get(url, **HTMX).headers  # not from a poll


def test_a_delivered_recipient_is_not_listed_as_refunded(staff_client, org, staff_member):
    broadcast = sms_broadcast(org, staff_member, 2)
    first, second = broadcast.recipients.order_by("id")
    Recipient.objects.filter(pk=first.pk).update(status="delivered")
    Recipient.objects.filter(pk=second.pk).update(status="undelivered")
    page = staff_client.get(reverse("broadcasts:detail", args=[broadcast.pk])).content.decode()
    assert page.count("1 refunded") == 1  # "delivered" is inside "undelivered": not a match


def test_each_recipients_parts_credits_and_note_say_what_they_are_on_a_phone(
    staff_client, org, staff_member
):
    broadcast = sms_broadcast(org, staff_member, 1)
    page = staff_client.get(reverse("broadcasts:detail", args=[broadcast.pk])).content.decode()
    for label in ("Parts", "Credits", "Note"):
        assert f'<td data-label="{label}">' in page
