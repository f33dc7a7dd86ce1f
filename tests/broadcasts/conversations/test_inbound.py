"""Texts from phones join their conversation, through the real signed webhook: one per
(organization, number), linked to the families and staff members who own the number, with
keyword replies marked and the app's answer kept; the status machine's moves."""

import pytest
from django.urls import reverse
from django.utils import timezone

from broadcasts.conversations import selectors, services
from broadcasts.conversations.models import Conversation, ConversationInbound
from broadcasts.models import InboundMessage
from tests.broadcasts.sms_helpers import family_with_number
from tests.broadcasts.test_sms_webhooks import SENDING, inbound, twilio_settings  # noqa: F401
from tests.factories import PhoneNumberFactory, SendingNumberFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db
PHONE = "+12025550123"
Status = Conversation.Status


def twiml_message(response) -> str:
    from xml.etree import ElementTree

    return ElementTree.fromstring(response.content).findtext("Message") or ""


@pytest.fixture
def number(org):
    return SendingNumberFactory(organization=org, e164=SENDING)


def test_a_text_starts_an_unread_conversation_linked_to_the_family(client, org, number):
    family = family_with_number(org, e164=PHONE, name="Garcia")
    response = inbound(client, "Is practice still on?\nThanks, Ana")
    assert response.status_code == 200
    assert b"<Message>" not in response.content  # no automatic answer to a plain text
    conversation = Conversation.objects.get(organization=org, e164=PHONE)
    assert (conversation.status, conversation.unread_count) == (Status.UNREAD, 1)
    assert conversation.last_text == "Is practice still on?"
    link = ConversationInbound.objects.get(conversation=conversation)
    assert link.inbound == InboundMessage.objects.get() and link.answer == ""
    owners = selectors.thread(conversation=conversation).owners
    assert [(o.kind, o.pk, o.name) for o in owners] == [("family", family.pk, "Garcia")]
    assert selectors.unread_count(organization=org) == 1


def test_the_next_text_joins_the_same_conversation(client, org, number):
    inbound(client, "first")
    inbound(client, "second")
    conversation = Conversation.objects.get()
    assert conversation.unread_count == 2 and conversation.last_text == "second"
    texts = [e.text for e in selectors.thread(conversation=conversation).entries]
    assert texts == ["first", "second"]


def test_a_shared_number_names_every_owner_and_an_unknown_one_none(client, org, number):
    family_with_number(org, e164=PHONE, name="Garcia")
    family_with_number(org, e164=PHONE, name="Lopez")
    coach = StaffMemberFactory(organization=org, first_name="Jo", last_name="Coach")
    PhoneNumberFactory(family=None, field=None, staff_member=coach, e164=PHONE, organization=org)
    inbound(client, "hello")
    inbound(client, "who is this", sender="+13125550199")
    shared = Conversation.objects.get(e164=PHONE)
    names = [o.name for o in selectors.thread(conversation=shared).owners]
    assert names == ["Garcia", "Lopez", "Jo Coach"]
    unknown = Conversation.objects.get(e164="+13125550199")
    assert selectors.thread(conversation=unknown).owners == []
    kinds = selectors.Filters
    matching = selectors.conversations_matching
    assert list(matching(organization=org, staff_member=None, filters=kinds(kind="unknown"))) == [
        unknown
    ]
    assert list(matching(organization=org, staff_member=None, filters=kinds(kind="staff"))) == [
        shared
    ]
    assert list(matching(organization=org, staff_member=None, filters=kinds(q="lopez"))) == [shared]
    assert list(matching(organization=org, staff_member=None, filters=kinds(q="(312) 555"))) == [
        unknown
    ]


def test_keywords_are_in_the_thread_with_the_answer_the_app_gave(client, org, number):
    family_with_number(org, e164=PHONE)
    answers = [twiml_message(inbound(client, word)) for word in ("STOP", "HELP")]
    entries = selectors.thread(conversation=Conversation.objects.get()).entries
    assert [e.keyword for e in entries] == ["STOP", "HELP"]
    assert [e.answer for e in entries] == answers
    assert "unsubscribed" in answers[0] and "STOP" in answers[1]


def test_a_text_to_a_number_nobody_has_makes_no_conversation(client, org):
    inbound(client, "hello")
    assert InboundMessage.objects.count() == 1 and not Conversation.objects.exists()


def test_another_organizations_number_gets_its_own_conversation(client, org, other_org, number):
    SendingNumberFactory(organization=other_org, e164="+14155550111")
    inbound(client, "to the first")
    from tests.broadcasts.test_sms_webhooks import post_signed

    params = {"From": PHONE, "To": "+14155550111", "Body": "to the other", "MessageSid": "SM2"}
    post_signed(client, "broadcasts:twilio_sms", params)
    assert Conversation.objects.for_org(org).get().last_text == "to the first"
    assert Conversation.objects.for_org(other_org).get().last_text == "to the other"


def test_read_open_close_and_a_new_text_reopens(client, org, number):
    staff = StaffMemberFactory(organization=org)
    inbound(client, "hi")
    conversation = Conversation.objects.get()
    conversation = services.conversation_read(conversation=conversation, by=staff)
    assert (conversation.status, conversation.unread_count) == (Status.OPEN, 0)
    assert conversation.read_by == staff
    assert selectors.unread_count(organization=org) == 0
    conversation = services.conversation_move(conversation=conversation, to="closed", by=staff)
    assert conversation.status == Status.CLOSED and conversation.closed_at
    inbound(client, "one more thing")
    conversation.refresh_from_db()
    assert (conversation.status, conversation.unread_count) == (Status.UNREAD, 1)
    assert conversation.closed_at is None


def test_moves_the_diagram_does_not_allow_are_refused(org):
    staff = StaffMemberFactory(organization=org)
    conversation = Conversation.objects.create(
        organization=org, e164=PHONE, status=Status.CLOSED, last_activity_at=timezone.now()
    )
    with pytest.raises(services.MoveRefused):
        services.conversation_move(conversation=conversation, to=Status.UNREAD, by=staff)
    conversation.refresh_from_db()
    assert conversation.status == Status.CLOSED


def test_a_stale_move_loses_to_the_one_made_first(org):
    staff = StaffMemberFactory(organization=org)
    conversation = Conversation.objects.create(
        organization=org, e164=PHONE, status=Status.UNREAD, last_activity_at=timezone.now()
    )
    stale = Conversation.objects.get(pk=conversation.pk)
    services.conversation_move(conversation=conversation, to=Status.CLOSED, by=staff)
    with pytest.raises(services.MoveRefused):
        services.conversation_move(conversation=stale, to=Status.OPEN, by=staff)


def test_the_open_threads_timeline_is_served_again_without_reading_it(client, org, number):
    from django.test import Client

    from tests.factories import StaffMemberFactory as Staff

    inbound(client, "first")
    conversation = Conversation.objects.get()
    staff = Client()
    staff.force_login(Staff(organization=org).user)
    fragment = staff.get(reverse("conversations:timeline", args=[conversation.pk]))
    assert fragment.status_code == 200 and b"first" in fragment.content
    conversation.refresh_from_db()
    assert conversation.status == Status.UNREAD


def test_the_upgrade_groups_earlier_replies_into_open_conversations(org, other_org):
    import importlib

    from django.apps import apps

    received = [
        InboundMessage.objects.create(organization=org, from_e164=PHONE, to_e164=SENDING, body=b)
        for b in ("old one", "STOP")
    ]
    InboundMessage.objects.create(organization=other_org, from_e164=PHONE, to_e164="+1", body="x")
    InboundMessage.objects.create(organization=None, from_e164=PHONE, to_e164="+1", body="lost")
    migration = importlib.import_module("broadcasts.migrations.0010_conversations")
    migration.conversations_from_inbound(apps, None)
    ours = Conversation.objects.get(organization=org)
    assert (ours.status, ours.unread_count, ours.last_text) == (Status.OPEN, 0, "STOP")
    assert ours.digested_at is not None
    assert [link.inbound for link in ours.inbound_links.all()] == received
    assert Conversation.objects.count() == 2
