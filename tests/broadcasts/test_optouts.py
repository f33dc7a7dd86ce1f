"""Issue 12: CTIA HELP and STOP answers, revocations in words (one confirmation), unclear
replies for staff, "stop calling", the carrier's 21610, and opt-outs honoured on every row with
the digits — through the signed webhook, the outbox reply page and the stand-in."""

import pytest
from django.test import Client
from django.urls import reverse

from broadcasts.models import InboundMessage, OutboxMessage, Recipient, VoiceOptOut
from broadcasts.sms.compose import broadcast_create, broadcast_preview
from broadcasts.sms.optouts import revocation_confirm, revocation_dismiss
from broadcasts.sms.revocation import RULES_VERSION
from credits.models import LedgerEntry
from families.models import AutoReply, ConsentEvent, OptOut, RevocationReview
from families.services import policy_publish
from smsvoice.models import MessageOptions, StaffMember
from tests.broadcasts.sms_helpers import (
    balance,
    families_selection,
    family_with_number,
    give_credits,
    sender_ready,
)
from tests.broadcasts.test_sms_webhooks import SENDING, inbound, post_signed
from tests.factories import SendingNumberFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db
PARENT = "+12025550123"
Source = ConsentEvent.Source


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    settings.TWILIO_AUTH_TOKEN = "test-auth-token-0123456789abcdef"
    settings.TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    settings.SITE_URL = "https://smsvoice.example.com"


@pytest.fixture
def number(org):
    org.contact_phone, org.contact_email = "+14155550199", "office@demogym.test"
    org.save()
    return SendingNumberFactory(organization=org, e164=SENDING)


def answer(response) -> str:
    body = response.content.decode()
    assert response.status_code == 200
    return body.split("<Message>", 1)[1].split("</Message>", 1)[0] if "<Message>" in body else ""


# --- HELP and STOP wording ---


def test_help_answers_with_every_ctia_part_free_and_recorded(client, org, number):
    before = LedgerEntry.objects.count()
    text = answer(inbound(client, "HELP"))
    assert text.startswith("Demo Gym: class updates and closures.")
    for part in ("Msg frequency varies.", "Msg &amp; data rates may apply.", "+14155550199"):
        assert part in text
    assert text.endswith("Reply STOP to opt out.")
    reply = AutoReply.objects.get()
    assert (reply.kind, reply.e164, reply.inbound.body) == ("help", PARENT, "HELP")
    assert "Msg & data rates may apply." in reply.text
    assert LedgerEntry.objects.count() == before  # free for the organization


def test_stop_answers_with_the_name_and_no_more_texts(client, org, number):
    family_with_number(org, e164=PARENT)
    text = answer(inbound(client, "Stop"))
    assert "Demo Gym" in text and "will get no more" in text
    assert AutoReply.objects.get().kind == "stop"


def test_a_keyword_twilios_advanced_opt_out_answered_gets_no_second_answer(client, org, number):
    family = family_with_number(org, e164=PARENT)
    params = {
        "From": PARENT,
        "To": SENDING,
        "Body": "STOP",
        "OptOutType": "STOP",
        "MessageSid": "SM2",
    }
    response = post_signed(client, "broadcasts:twilio_sms", params)
    assert answer(response) == ""
    assert family.phone_numbers.get().sms_opt_in is False
    assert OptOut.objects.filter(organization=org, e164=PARENT).exists()
    assert not AutoReply.objects.exists()


def test_the_organizations_own_help_and_stop_texts_are_used(client, org, number):
    MessageOptions.objects.update_or_create(
        organization=org,
        defaults={
            "help_reply": "{organization}: swim news. Msg frequency varies. Msg & data rates "
            "may apply. Call +14155550199. Reply STOP to opt out.",
            "stop_reply": "{organization}: you will get no more texts from us.",
        },
    )
    assert answer(inbound(client, "info")).startswith("Demo Gym: swim news.")
    assert answer(inbound(client, "quit")) == "Demo Gym: you will get no more texts from us."


def test_the_outbox_reply_page_answers_help_and_stop_the_same_way(staff_client, org, settings):
    settings.SMS_BACKEND = "outbox"
    SendingNumberFactory(organization=org, e164=SENDING)
    family_with_number(org, e164=PARENT)
    OutboxMessage.objects.create(sid="SM" + "1" * 32, from_e164=SENDING, to_e164=PARENT, body="Hi")
    url = reverse("broadcasts:outbox_reply")
    staff_client.post(url, {"from": PARENT, "body": "HELP"})
    staff_client.post(url, {"from": PARENT, "body": "please stop texting me"})
    answers = list(OutboxMessage.objects.filter(to_e164=PARENT).exclude(body="Hi").order_by("id"))
    assert len(answers) == 2
    assert answers[0].body.startswith("Demo Gym: class updates and closures.")
    assert "Msg frequency varies." in answers[0].body
    assert "will get no more" in answers[1].body
    assert OptOut.objects.filter(organization=org, e164=PARENT).exists()


# --- revocations in words ---


@pytest.mark.parametrize(
    "words", ["stop texting me", "please stop", "unsubscribe me", "STOP!!! wrong number"]
)
def test_a_revocation_in_words_opts_out_with_the_words_quoted(client, org, number, words):
    policy = policy_publish(organization=org, text="We text about classes.", actor=None)
    family = family_with_number(org, e164=PARENT)
    text = answer(inbound(client, words))
    assert "will get no more" in text
    phone = family.phone_numbers.get()
    assert phone.sms_opt_in is False
    event = ConsentEvent.objects.filter(phone_number=phone).order_by("-id").first()
    assert (event.opted_in, event.source, event.words) == (False, Source.REPLY, words)
    assert event.policy == policy
    assert RULES_VERSION in event.note
    assert AutoReply.objects.get().kind == "revocation"


def test_one_confirmation_per_revocation(client, org, number):
    family_with_number(org, e164=PARENT)
    first = answer(inbound(client, "stop texting me"))
    again = answer(inbound(client, "I said stop texting me"))
    keyword = answer(inbound(client, "STOP"))
    assert "will get no more" in first
    assert again == "" and keyword == ""
    assert AutoReply.objects.count() == 1
    # each request is still evidence
    assert ConsentEvent.objects.filter(e164=PARENT, opted_in=False).count() == 3


@pytest.mark.parametrize("words", ["stop texting me", "STOP"])
def test_start_undoes_a_revocation_in_words_or_a_stop(client, org, number, words):
    family = family_with_number(org, e164=PARENT)
    inbound(client, words)
    assert "subscribed to Demo Gym texts again" in answer(inbound(client, "START"))
    assert family.phone_numbers.get().sms_opt_in is True
    assert not OptOut.objects.exists()


def test_a_reply_that_is_no_revocation_changes_nothing(client, org, number):
    family = family_with_number(org, e164=PARENT)
    assert answer(inbound(client, "don't stop the lessons!")) == ""
    assert family.phone_numbers.get().sms_opt_in is True
    assert not OptOut.objects.exists() and not RevocationReview.objects.exists()


# --- unclear replies: the review list ---


@pytest.fixture
def viewer(org) -> Client:
    member = StaffMemberFactory(organization=org, role=StaffMember.Role.STAFF)
    client = Client()
    client.force_login(member.user)
    client.member = member
    return client


def test_an_unclear_reply_waits_for_staff_and_opting_out_is_recorded(client, org, number, viewer):
    family = family_with_number(org, e164=PARENT, name="Rivera")
    assert answer(inbound(client, "can I cancel Tuesday's lesson?")) == ""
    assert family.phone_numbers.get().sms_opt_in is True  # nothing changed yet
    review = RevocationReview.objects.get()
    assert (review.verdict, review.e164, review.inbound.body) == (
        "pending",
        PARENT,
        "can I cancel Tuesday's lesson?",
    )
    page = viewer.get(reverse("broadcasts:revocation_reviews"))
    assert b"can I cancel Tuesday&#x27;s lesson?" in page.content and b"Rivera" in page.content
    viewer.post(reverse("broadcasts:revocation_review_confirm", args=[review.pk]))
    review.refresh_from_db()
    assert review.verdict == "opted_out" and review.decided_by == viewer.member.user
    assert review.decided_at is not None
    phone = family.phone_numbers.get()
    assert phone.sms_opt_in is False
    event = ConsentEvent.objects.filter(phone_number=phone).order_by("-id").first()
    assert (event.source, event.words, event.actor) == (
        Source.REVIEW,
        "can I cancel Tuesday's lesson?",
        viewer.member.user,
    )
    assert OptOut.objects.filter(organization=org, e164=PARENT).exists()
    assert not AutoReply.objects.exists()  # no late confirmation text
    # decided once: a second decision is refused and changes nothing
    viewer.post(reverse("broadcasts:revocation_review_dismiss", args=[review.pk]))
    review.refresh_from_db()
    assert review.verdict == "opted_out"


def test_an_unclear_reply_from_a_number_already_off_texts_waits_for_nobody(client, org, number):
    family_with_number(org, e164=PARENT)
    inbound(client, "STOP")
    inbound(client, "can I cancel Tuesday's lesson?")
    assert not RevocationReview.objects.exists()


def test_dismissing_keeps_consent_and_records_who_decided(client, org, number, viewer):
    family = family_with_number(org, e164=PARENT)
    inbound(client, "My son wants to quit gymnastics")
    review = RevocationReview.objects.get()
    response = viewer.post(reverse("broadcasts:revocation_review_dismiss", args=[review.pk]))
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.verdict == "not_revocation" and review.decided_by_label
    assert family.phone_numbers.get().sms_opt_in is True
    assert not OptOut.objects.exists()
    waiting = viewer.get(reverse("broadcasts:revocation_reviews"))
    assert b"No replies are waiting" in waiting.content
    decided = viewer.get(reverse("broadcasts:revocation_reviews") + "?show=decided")
    assert b"Not a revocation" in decided.content


def test_the_services_refuse_a_second_decision(client, org, number, viewer):
    from django.core.exceptions import ValidationError

    inbound(client, "Not interested")
    review = RevocationReview.objects.get()
    revocation_dismiss(review=review, actor=viewer.member.user)
    with pytest.raises(ValidationError):
        revocation_confirm(review=review, actor=viewer.member.user)
    assert not OptOut.objects.exists()


def test_another_organizations_reviews_answer_404(client, org, number, other_org):
    inbound(client, "Not interested")
    review = RevocationReview.objects.get()
    outsider = Client()
    outsider.force_login(StaffMemberFactory(organization=other_org).user)
    for name in ("revocation_review_confirm", "revocation_review_dismiss"):
        assert outsider.post(reverse(f"broadcasts:{name}", args=[review.pk])).status_code == 404
    listing = outsider.get(reverse("broadcasts:revocation_reviews") + "?show=all")
    assert b"Not interested" not in listing.content
    review.refresh_from_db()
    assert review.verdict == "pending"


def test_staff_who_may_not_view_text_logs_cannot_see_or_decide(client, org, number):
    inbound(client, "Not interested")
    review = RevocationReview.objects.get()
    member = StaffMemberFactory(
        organization=org, role=StaffMember.Role.STAFF, can_view_text_logs=False
    )
    staff = Client()
    staff.force_login(member.user)
    assert staff.get(reverse("broadcasts:revocation_reviews")).status_code == 403
    url = reverse("broadcasts:revocation_review_confirm", args=[review.pk])
    assert staff.post(url).status_code == 403
    review.refresh_from_db()
    assert review.verdict == "pending"


# --- calls ---


def test_a_texted_stop_calling_opts_out_of_calls_too(client, org, number):
    family = family_with_number(org, e164=PARENT)
    text = answer(inbound(client, "stop calling me"))
    assert "Calls from Demo Gym are stopped too." in text
    assert VoiceOptOut.objects.filter(organization=org, e164=PARENT).exists()
    phone = family.phone_numbers.get()
    voice = ConsentEvent.objects.get(phone_number=phone, channel=ConsentEvent.Channel.VOICE)
    assert (voice.opted_in, voice.source, voice.words) == (False, Source.REPLY, "stop calling me")
    assert phone.sms_opt_in is False


def test_a_plain_stop_leaves_calls_alone(client, org, number):
    family_with_number(org, e164=PARENT)
    inbound(client, "STOP")
    assert not VoiceOptOut.objects.exists()


# --- everywhere at once ---


def test_an_opt_out_covers_every_row_with_the_digits_in_the_next_preview(client, org, number):
    give_credits(org, 10)
    first = family_with_number(org, e164=PARENT)
    second = family_with_number(org, e164=PARENT)  # the same phone in another family
    other = family_with_number(org, e164="+12025550124")
    selection = families_selection(first, second, other)
    assert broadcast_preview(organization=org, selection=selection, text="Hi").messages == 2
    inbound(client, "please remove me from this list")
    assert not first.phone_numbers.get().sms_opt_in
    assert not second.phone_numbers.get().sms_opt_in
    preview = broadcast_preview(organization=org, selection=selection, text="Hi")
    assert preview.messages == 1
    assert preview.excluded.get(Recipient.Reason.UNSUBSCRIBED) == 1


# --- the carrier: 21610 ---


@pytest.fixture
def eager_tasks():
    from smsvoice.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def test_21610_from_the_standin_records_a_carrier_opt_out(
    org, twilio_standin, eager_tasks, django_capture_on_commit_callbacks
):
    sender = StaffMemberFactory(organization=org)
    sender_ready(org, credits=10)
    refused = family_with_number(org, e164=PARENT)
    fine = family_with_number(org, e164="+12025550124")
    twilio_standin.error_for_number(PARENT, 21610)
    credits_before = balance(org)
    with django_capture_on_commit_callbacks(execute=True):
        broadcast = broadcast_create(
            organization=org, sender=sender, selection=families_selection(refused, fine), text="Hi"
        )
    failed = Recipient.objects.get(broadcast=broadcast, e164=PARENT)
    assert (failed.status, failed.error_code) == (Recipient.Status.FAILED, "21610")
    assert balance(org) == credits_before - 1  # the refused one is refunded
    assert OptOut.objects.filter(organization=org, e164=PARENT).exists()
    phone = refused.phone_numbers.get()
    assert phone.sms_opt_in is False
    event = ConsentEvent.objects.filter(phone_number=phone).order_by("-id").first()
    assert (event.opted_in, event.source) == (False, Source.CARRIER)
    assert "21610" in event.note
    preview = broadcast_preview(
        organization=org, selection=families_selection(refused, fine), text="Again"
    )
    assert preview.messages == 1


def test_an_undelivered_report_with_21610_records_the_opt_out_too(org):
    from broadcasts.sms.delivery import delivery_status_record
    from tests.broadcasts.test_sms_webhooks import _sent_recipient

    recipient = _sent_recipient(org, sid="SM" + "7" * 32)
    delivery_status_record(sid=recipient.provider_sid, status="undelivered", error_code="21610")
    assert OptOut.objects.filter(organization=org, e164=recipient.e164).exists()
    assert ConsentEvent.objects.filter(e164=recipient.e164, source=Source.CARRIER).exists()


def test_inbound_is_recorded_with_the_review(client, org, number):
    inbound(client, "too many texts")
    assert InboundMessage.objects.get().revocation_review.rule == "too many texts"
