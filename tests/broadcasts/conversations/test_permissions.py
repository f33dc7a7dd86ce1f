"""The two permissions, both ways: "send texts" (compose, broadcasts, replies) and "view text
logs" (messenger, audit log, outbox). The server answers 403 whatever the client sends; the
navigation hides what the person cannot use; admins have both; only admins change them.
And tenancy: another organization's conversation ids are 404 on every page and API route."""

import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from broadcasts.conversations.models import Conversation
from broadcasts.models import Broadcast
from smsvoice.models import StaffMember
from tests.broadcasts.conversations.helpers import PHONE
from tests.broadcasts.sms_helpers import family_with_number, sender_ready
from tests.factories import StaffMemberFactory

pytestmark = pytest.mark.django_db


def login(member: StaffMember) -> Client:
    client = Client()
    client.force_login(member.user)
    return client


@pytest.fixture
def conversation(org):
    return Conversation.objects.create(
        organization=org, e164=PHONE, last_activity_at=timezone.now()
    )


@pytest.fixture
def outbox(settings):
    settings.SMS_BACKEND = "outbox"


LOG_PAGES = [
    ("conversations:list", []),
    ("broadcasts:revocation_reviews", []),
    ("conversations:rows", []),
    ("broadcasts:audit", []),
    ("broadcasts:audit_csv", []),
    ("broadcasts:outbox", []),
]


def test_without_view_text_logs_the_logs_are_403_and_hidden(org, conversation, outbox):
    member = StaffMemberFactory(organization=org, can_view_text_logs=False)
    client = login(member)
    for name, args in LOG_PAGES:
        assert client.get(reverse(name, args=args)).status_code == 403, name
    assert client.get(reverse("conversations:detail", args=[conversation.pk])).status_code == 403
    assert client.get(reverse("conversations:unread")).status_code == 403
    moved = client.post(reverse("conversations:status", args=[conversation.pk]), {"to": "closed"})
    assert moved.status_code == 403
    conversation.refresh_from_db()
    assert conversation.status == "unread"
    assert client.get("/api/v1/conversations/").status_code == 403
    assert client.get(f"/api/v1/conversations/{conversation.pk}/").status_code == 403
    page = client.get(reverse("families:family_list")).content.decode()
    assert "Messenger" not in page
    assert 'href="/broadcasts/"' in page  # they still send, and watch what they sent
    listing = client.get(reverse("broadcasts:list")).content.decode()
    assert "Audit log" not in listing


def test_without_send_texts_compose_and_replies_are_403_and_hidden(org, conversation):
    sender_ready(org)
    family = family_with_number(org, e164=PHONE)
    member = StaffMemberFactory(organization=org, can_send_texts=False)
    client = login(member)
    assert client.get(reverse("broadcasts:compose", args=["families"])).status_code == 403
    posted = client.post(
        reverse("broadcasts:compose", args=["families"]), {"text": "Hi", "action": "send"}
    )
    assert posted.status_code == 403
    assert client.get(reverse("broadcasts:voice_compose", args=["families"])).status_code == 403
    reply = client.post(reverse("conversations:reply", args=[conversation.pk]), {"text": "Hi"})
    assert reply.status_code == 403
    selection = {"kind": "families", "ids": [family.pk]}
    body = json.dumps({"selection": selection, "text": "Hi"})
    for path in ("/api/v1/broadcasts/", "/api/v1/broadcasts/preview/"):
        answer = client.post(path, body, content_type="application/json")
        assert answer.status_code == 403, path
    api_reply = client.post(
        f"/api/v1/conversations/{conversation.pk}/reply/",
        json.dumps({"text": "Hi"}),
        content_type="application/json",
    )
    assert api_reply.status_code == 403
    assert not Broadcast.objects.exists()
    # Reading is still theirs: the thread shows, the box says why there is none.
    thread = client.get(reverse("conversations:detail", args=[conversation.pk])).content
    assert b"permission to send texts" in thread and b'name="text"' not in thread
    families = client.get(reverse("families:family_list")).content.decode()
    assert "Messenger" in families
    assert reverse("broadcasts:compose", args=["families"]) not in families


def test_with_neither_the_broadcasts_are_hidden_and_refused(org):
    member = StaffMemberFactory(organization=org, can_send_texts=False, can_view_text_logs=False)
    client = login(member)
    assert client.get(reverse("broadcasts:list")).status_code == 403
    assert client.get("/api/v1/broadcasts/").status_code == 403
    assert 'href="/broadcasts/"' not in client.get(reverse("families:family_list")).content.decode()


def test_admins_have_both_whatever_the_fields_say(org, conversation, outbox):
    admin = StaffMemberFactory(
        organization=org, role="admin", can_send_texts=False, can_view_text_logs=False
    )
    client = login(admin)
    assert client.get(reverse("conversations:list")).status_code == 200
    assert client.get(reverse("broadcasts:audit")).status_code == 200
    assert client.get(reverse("broadcasts:compose", args=["families"])).status_code == 200


def test_existing_and_new_staff_have_both_permissions(org):
    member = StaffMemberFactory(organization=org)
    assert member.may_send_texts and member.may_view_text_logs


def test_an_admin_sets_the_permissions_on_the_staff_form(admin_client, org):
    member = StaffMemberFactory(organization=org, email="coach@gym.test")
    edit = reverse("families:staff_edit", args=[member.pk])
    form = admin_client.get(edit).content.decode()
    assert 'name="can_send_texts"' in form and 'name="can_view_text_logs"' in form
    data = {
        "first_name": member.first_name,
        "last_name": member.last_name,
        "email": "coach@gym.test",
        "role": "staff",
        "is_active": "on",
        "can_log_in": "on",
        "can_view_text_logs": "on",
    }
    assert admin_client.post(edit, data).status_code == 302
    member.refresh_from_db()
    assert (member.can_send_texts, member.can_view_text_logs) == (False, True)


def test_staff_cannot_give_themselves_permissions(org):
    member = StaffMemberFactory(organization=org, can_send_texts=False)
    client = login(member)
    edit = reverse("families:staff_edit", args=[member.pk])
    assert (
        client.post(edit, {"first_name": "X", "role": "staff", "can_send_texts": "on"}).status_code
        == 403
    )
    member.refresh_from_db()
    assert member.can_send_texts is False


def test_another_organizations_conversation_is_404_everywhere(other_org, staff_client, outbox):
    theirs = Conversation.objects.create(
        organization=other_org, e164=PHONE, last_activity_at=timezone.now()
    )
    pk = theirs.pk
    assert staff_client.get(reverse("conversations:detail", args=[pk])).status_code == 404
    for name, data in (
        ("conversations:reply", {"text": "hi"}),
        ("conversations:reply_preview", {"text": "hi"}),
        ("conversations:status", {"to": "closed"}),
        ("conversations:assign", {}),
    ):
        assert staff_client.post(reverse(name, args=[pk]), data).status_code == 404, name
    assert staff_client.get(f"/api/v1/conversations/{pk}/").status_code == 404
    for path, body in (
        (f"/api/v1/conversations/{pk}/reply/", {"text": "hi"}),
        (f"/api/v1/conversations/{pk}/status/", {"status": "closed"}),
    ):
        answer = staff_client.post(path, json.dumps(body), content_type="application/json")
        assert answer.status_code == 404, path
    assert staff_client.get("/api/v1/conversations/").json()["count"] == 0
    theirs.refresh_from_db()
    assert theirs.status == "unread" and not Broadcast.objects.exists()
