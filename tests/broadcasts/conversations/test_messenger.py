"""The messenger end to end: a text arrives through the signed webhook, the navigation counts
it, a staff member reads it and replies (through the engine to the Twilio stand-in: debited,
audited with who wrote it), closes it, and the next text reopens it."""

import pytest
from django.test import Client
from django.urls import reverse

from broadcasts.conversations.models import Conversation
from broadcasts.models import AuditLogEntry, Broadcast, Recipient
from credits.models import LedgerEntry
from tests.broadcasts.conversations.helpers import PHONE, text_in
from tests.broadcasts.sms_helpers import balance, family_with_number, sender_ready
from tests.factories import StaffMemberFactory

pytestmark = pytest.mark.django_db
Status = Conversation.Status


@pytest.fixture
def eager_tasks():
    from smsvoice.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def ready(org, twilio_standin, eager_tasks, settings):
    settings.SITE_URL = "https://smsvoice.example.com"
    return sender_ready(org, credits=50)


@pytest.fixture
def jo(org):
    return StaffMemberFactory(organization=org, first_name="Jo", last_name="Coach")


@pytest.fixture
def jo_client(jo) -> Client:
    client = Client()
    client.force_login(jo.user)
    return client


def unread_badge(client) -> str:
    return client.get(reverse("conversations:unread")).content.decode()


def test_inbound_read_reply_close_and_reopen(
    client, org, ready, jo, jo_client, twilio_standin, django_capture_on_commit_callbacks
):
    family = family_with_number(org, e164=PHONE, name="Garcia")
    text_in(client, "Is practice still on?")
    conversation = Conversation.objects.get(organization=org, e164=PHONE)

    home = jo_client.get(reverse("families:family_list")).content.decode()
    assert 'data-testid="unread-count">1<' in home
    listing = jo_client.get(reverse("conversations:list")).content.decode()
    assert "Garcia" in listing and "Is practice still on?" in listing

    page = jo_client.get(reverse("conversations:detail", args=[conversation.pk]))
    assert page.status_code == 200 and b"Is practice still on?" in page.content
    conversation.refresh_from_db()
    assert (conversation.status, conversation.read_by) == (Status.OPEN, jo)
    assert "unread-count" not in unread_badge(jo_client)

    before = balance(org)
    with django_capture_on_commit_callbacks(execute=True):
        sent = jo_client.post(
            reverse("conversations:reply", args=[conversation.pk]), {"text": "Yes, at 5 pm!"}
        )
    assert sent.status_code == 302
    broadcast = Broadcast.objects.get(selection_kind="reply")
    assert broadcast.sender == jo and broadcast.recipient_count == 1
    [message] = twilio_standin.messages.values()
    assert message.to == PHONE and "Yes, at 5 pm!" in message.body
    entry = AuditLogEntry.objects.get(broadcast=broadcast)
    assert (entry.sender, entry.e164, entry.family) == (jo, PHONE, family)
    assert entry.provider_sid in twilio_standin.messages
    debit = LedgerEntry.objects.get(reference=broadcast.debit_reference)
    assert debit.credits == -broadcast.credits_debited and balance(org) == before - 1
    conversation.refresh_from_db()
    assert conversation.assignee == jo

    thread = jo_client.get(reverse("conversations:detail", args=[conversation.pk])).content
    assert b"Reply by Jo Coach" in thread and b"Yes, at 5 pm!" in thread

    jo_client.post(reverse("conversations:status", args=[conversation.pk]), {"to": "closed"})
    conversation.refresh_from_db()
    assert conversation.status == Status.CLOSED

    text_in(client, "Thanks! And Saturday?")
    conversation.refresh_from_db()
    assert (conversation.status, conversation.unread_count) == (Status.UNREAD, 1)
    assert 'data-testid="unread-count">1<' in unread_badge(jo_client)


def test_a_reply_the_provider_refuses_is_refunded_and_says_so(
    client, org, ready, jo_client, twilio_standin, django_capture_on_commit_callbacks
):
    family_with_number(org, e164=PHONE)
    text_in(client, "hello?")
    conversation = Conversation.objects.get()
    twilio_standin.error_for_number(PHONE, 21211)
    before = balance(org)
    with django_capture_on_commit_callbacks(execute=True):
        jo_client.post(reverse("conversations:reply", args=[conversation.pk]), {"text": "Hi"})
    recipient = Recipient.objects.get(broadcast__selection_kind="reply")
    assert recipient.status == Recipient.Status.FAILED
    assert balance(org) == before
    assert not AuditLogEntry.objects.exists()
    thread = jo_client.get(reverse("conversations:detail", args=[conversation.pk])).content
    assert b"Not sent, refunded" in thread


def test_a_stop_in_the_thread_blocks_replies_and_the_box_says_why(
    client, org, ready, jo_client, twilio_standin, django_capture_on_commit_callbacks
):
    family_with_number(org, e164=PHONE)
    text_in(client, "Can we move to Tuesdays?")
    text_in(client, "STOP")
    conversation = Conversation.objects.get()
    page = jo_client.get(reverse("conversations:detail", args=[conversation.pk])).content.decode()
    assert 'data-testid="keyword">STOP<' in page
    assert "unsubscribed" in page  # what the app answered
    assert "replied STOP" in page and 'name="text"' not in page
    with django_capture_on_commit_callbacks(execute=True):
        refused = jo_client.post(
            reverse("conversations:reply", args=[conversation.pk]), {"text": "Sure"}
        )
    assert refused.status_code == 400 and b"replied STOP" in refused.content
    assert not Broadcast.objects.filter(selection_kind="reply").exists()
    assert twilio_standin.messages == {}


def test_an_unknown_number_is_shown_as_such_and_cannot_be_texted(client, org, ready, jo_client):
    text_in(client, "Wrong number, this is not Maria", sender="+13125550199")
    conversation = Conversation.objects.get()
    page = jo_client.get(reverse("conversations:detail", args=[conversation.pk])).content.decode()
    assert "Unknown number" in page and "not on file" in page


def test_the_reply_box_counts_like_compose_with_the_header_and_footer(
    client, org, ready, jo_client
):
    family_with_number(org, e164=PHONE)
    text_in(client, "hi")
    conversation = Conversation.objects.get()
    from broadcasts.sms.ctia import message_options_for

    options = message_options_for(org)
    options.header, options.footer = "Demo Gym:", "Reply STOP to opt out"
    options.save()
    counted = jo_client.post(
        reverse("conversations:reply_preview", args=[conversation.pk]), {"text": "x" * 120}
    ).content.decode()
    # 120 typed + "Demo Gym:" (9) + footer (21) + two line breaks = 152 of 160.
    assert 'data-testid="chars-left">8 of 160 characters left' in counted
    assert 'data-can-send="true"' in counted
    longer = jo_client.post(
        reverse("conversations:reply_preview", args=[conversation.pk]), {"text": "x" * 140}
    ).content.decode()
    assert "2 parts" in longer
    left_out = jo_client.post(
        reverse("conversations:reply_preview", args=[conversation.pk]),
        {"text": "x" * 140, "omit_header_footer": "on"},
    ).content.decode()
    assert 'data-testid="chars-left">20 of 160 characters left' in left_out


def test_a_reply_carries_the_header_and_footer_unless_left_out(
    client, org, ready, jo_client, twilio_standin, django_capture_on_commit_callbacks
):
    from broadcasts.sms.ctia import message_options_for

    family_with_number(org, e164=PHONE)
    text_in(client, "hi")
    conversation = Conversation.objects.get()
    options = message_options_for(org)
    options.header, options.footer = "{organization}:", "Reply STOP to opt out"
    options.save()
    url = reverse("conversations:reply", args=[conversation.pk])
    with django_capture_on_commit_callbacks(execute=True):
        jo_client.post(url, {"text": "See you at 5"})
        jo_client.post(url, {"text": "Bring water", "omit_header_footer": "on"})
    bodies = sorted(m.body for m in twilio_standin.messages.values())
    assert bodies == ["Bring water", "Demo Gym:\nSee you at 5\nReply STOP to opt out"]


def test_in_canada_the_header_and_footer_cannot_be_left_out(
    client, org, ready, jo_client, twilio_standin
):
    from broadcasts.sms.ctia import message_options_for

    org.country = "CA"
    org.save()
    family_with_number(org, e164=PHONE)
    text_in(client, "hi")
    conversation = Conversation.objects.get()
    options = message_options_for(org)
    options.header, options.footer = "Demo Gym:", "Reply STOP to opt out"
    options.save()
    page = jo_client.get(reverse("conversations:detail", args=[conversation.pk])).content
    assert b'data-testid="header-footer-required"' in page and b"omit_header_footer" not in page
    refused = jo_client.post(
        reverse("conversations:reply", args=[conversation.pk]),
        {"text": "Hi", "omit_header_footer": "on"},
    )
    assert refused.status_code == 400 and b"cannot be left out" in refused.content
    assert twilio_standin.messages == {}


def test_a_reply_to_an_opted_out_number_without_stop_is_refused(client, org, ready, jo_client):
    family_with_number(org, e164=PHONE, opted_in=False)
    text_in(client, "hi")
    conversation = Conversation.objects.get()
    page = jo_client.get(reverse("conversations:detail", args=[conversation.pk])).content
    assert b"has not opted in" in page


def test_a_reply_that_may_revoke_is_flagged_and_opting_out_is_one_click(
    client, org, ready, jo, jo_client
):
    from families.models import OptOut, RevocationReview

    family_with_number(org, e164=PHONE)
    text_in(client, "Please cancel Emma's enrollment")
    conversation = Conversation.objects.get()
    detail = reverse("conversations:detail", args=[conversation.pk])
    page = jo_client.get(detail).content.decode()
    assert 'data-testid="revocation-review"' in page
    assert "Opt this number out" in page and "Not a revocation" in page
    review = RevocationReview.objects.get()
    jo_client.post(
        reverse("conversations:review", args=[conversation.pk, review.pk]), {"action": "opt_out"}
    )
    review.refresh_from_db()
    assert review.verdict == RevocationReview.Verdict.OPTED_OUT
    assert review.decided_by == jo.user
    assert OptOut.objects.filter(organization=org, e164=PHONE).exists()
    page = jo_client.get(detail).content.decode()
    assert 'data-testid="revocation-decided"' in page and 'name="text"' not in page


def test_not_a_revocation_is_recorded_and_changes_no_consent(client, org, ready, jo, jo_client):
    from families.models import OptOut, RevocationReview

    family_with_number(org, e164=PHONE)
    text_in(client, "Can we cancel the trial class")
    conversation = Conversation.objects.get()
    review = RevocationReview.objects.get()
    url = reverse("conversations:review", args=[conversation.pk, review.pk])
    jo_client.post(url, {"action": "dismiss"})
    review.refresh_from_db()
    assert (review.verdict, review.decided_by) == (RevocationReview.Verdict.NOT_REVOCATION, jo.user)
    assert not OptOut.objects.exists()
    again = jo_client.post(url, {"action": "opt_out"}, follow=True).content.decode()
    assert "already decided" in again and not OptOut.objects.exists()
    page = jo_client.get(reverse("conversations:detail", args=[conversation.pk])).content
    assert b'name="text"' in page  # still texted: the reply box is there


def test_family_and_staff_pages_have_a_communication_section(
    client, org, ready, jo, jo_client, django_capture_on_commit_callbacks
):
    family = family_with_number(org, e164=PHONE, name="Garcia")
    text_in(client, "Is practice on?")
    conversation = Conversation.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        jo_client.post(reverse("conversations:reply", args=[conversation.pk]), {"text": "Yes"})
    page = jo_client.get(reverse("families:family_detail", args=[family.pk])).content.decode()
    assert 'id="communication"' in page
    assert reverse("conversations:detail", args=[conversation.pk]) in page
    assert 'data-testid="communication-history"' in page and "Reply</span> " in page
    staff_page = jo_client.get(reverse("families:staff_detail", args=[jo.pk])).content.decode()
    assert 'id="communication"' in staff_page and "No replies from these numbers yet" in staff_page
    jo.can_view_text_logs = False
    jo.save()
    hidden = jo_client.get(reverse("families:family_detail", args=[family.pk])).content.decode()
    assert 'id="communication"' not in hidden
