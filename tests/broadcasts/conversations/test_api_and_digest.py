"""The conversations API (list with filters, thread, reply, status) and the hourly digest
email (who wrote and the first line, never more; once per conversation; under a lock)."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from broadcasts.conversations import digest
from broadcasts.conversations.models import Conversation
from broadcasts.models import AuditLogEntry
from smsvoice.locks import try_lock
from tests.broadcasts.conversations.helpers import PHONE, text_in
from tests.broadcasts.sms_helpers import family_with_number, sender_ready
from tests.factories import StaffMemberFactory

pytestmark = pytest.mark.django_db


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
    return sender_ready(org, credits=20)


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def test_the_api_lists_reads_replies_and_moves(
    client,
    org,
    ready,
    staff_client,
    staff_member,
    twilio_standin,
    django_capture_on_commit_callbacks,
):
    family_with_number(org, e164=PHONE, name="Garcia")
    text_in(client, "Running late\nsorry")
    text_in(client, "who?", sender="+13125550199")
    listing = staff_client.get("/api/v1/conversations/?kind=family").json()
    assert listing["count"] == 1
    [row] = listing["results"]
    assert (row["e164"], row["status"], row["last_text"]) == (PHONE, "unread", "Running late")
    assert row["owners"][0]["name"] == "Garcia" and row["owners"][0]["kind"] == "family"
    assert staff_client.get("/api/v1/conversations/?q=garcia").json()["count"] == 1

    thread = staff_client.get(f"/api/v1/conversations/{row['id']}/").json()
    assert [e["text"] for e in thread["entries"]] == ["Running late\nsorry"]
    assert thread["reply_refusal"] == ""
    assert Conversation.objects.get(pk=row["id"]).status == "unread"  # a GET changes nothing

    with django_capture_on_commit_callbacks(execute=True):
        sent = post(staff_client, f"/api/v1/conversations/{row['id']}/reply/", {"text": "OK!"})
    assert sent.status_code == 201, sent.content
    assert AuditLogEntry.objects.get(broadcast_id=sent.json()["id"]).sender == staff_member
    assert [m.to for m in twilio_standin.messages.values()] == [PHONE]

    moved = post(staff_client, f"/api/v1/conversations/{row['id']}/status/", {"status": "closed"})
    assert moved.status_code == 200 and moved.json()["status"] == "closed"
    refused = post(staff_client, f"/api/v1/conversations/{row['id']}/status/", {"status": "unread"})
    assert refused.status_code == 400 and "cannot" in refused.json()["detail"]
    bad = post(staff_client, f"/api/v1/conversations/{row['id']}/status/", {"status": "gone"})
    assert bad.status_code == 400


def test_an_api_reply_to_a_stopped_number_is_refused_with_the_reason(
    client, org, ready, staff_client
):
    family_with_number(org, e164=PHONE)
    text_in(client, "STOP")
    pk = Conversation.objects.get().pk
    refused = post(staff_client, f"/api/v1/conversations/{pk}/reply/", {"text": "Sure"})
    assert refused.status_code == 400 and "STOP" in refused.json()["detail"]


def test_the_digest_emails_opted_in_staff_the_sender_and_first_line_only(
    client, org, ready, mailoutbox
):
    family_with_number(org, e164=PHONE, name="Garcia")
    StaffMemberFactory(organization=org, conversation_digest=True, user__username="a@gym.test")
    StaffMemberFactory(organization=org, user__username="no@gym.test")  # did not opt in
    StaffMemberFactory(
        organization=org,
        conversation_digest=True,
        can_view_text_logs=False,
        user__username="nologs@gym.test",
    )
    text_in(client, "Is practice on?\nMy card number is 4111 1111 1111 1111")
    text_in(client, "second text, not in the email")
    text_in(client, "hello", sender="+13125550199")
    assert digest.conversations_digest()["emails"] == 1
    [mail] = mailoutbox
    assert mail.to == ["a@gym.test"] and "2 new conversations" in mail.subject
    assert "- Garcia: Is practice on?" in mail.body
    assert "(312) 555-0199: hello" in mail.body
    assert "4111" not in mail.body and "second text" not in mail.body
    assert reverse("conversations:list") in mail.body
    assert digest.conversations_digest()["emails"] == 0  # each conversation once
    assert len(mailoutbox) == 1


def test_the_digest_skips_stale_conversations_and_runs_once_at_a_time(org, mailoutbox):
    StaffMemberFactory(organization=org, conversation_digest=True)
    old = Conversation.objects.create(organization=org, e164=PHONE, last_activity_at=timezone.now())
    Conversation.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=5))
    with try_lock("conversations-digest") as held:
        assert held
        assert digest.conversations_digest() == {"skipped": 1}
    assert digest.conversations_digest()["stale"] == 1
    assert mailoutbox == []


def test_staff_turn_the_digest_on_and_off_for_themselves(staff_client, staff_member):
    staff_client.post(reverse("conversations:digest"), {"on": "1"})
    staff_member.refresh_from_db()
    assert staff_member.conversation_digest is True
    staff_client.post(reverse("conversations:digest"), {"on": "0"})
    staff_member.refresh_from_db()
    assert staff_member.conversation_digest is False


def test_an_api_key_reads_with_read_and_replies_only_with_send(admin_member, org):
    from django.test import Client

    from smsvoice.api_keys import api_key_create

    conversation = Conversation.objects.create(
        organization=org, e164=PHONE, last_activity_at=timezone.now()
    )

    def call(method, path, key, body=None):
        kwargs = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
        if body is not None:
            kwargs |= {"data": json.dumps(body), "content_type": "application/json"}
        return getattr(Client(), method)(path, **kwargs)

    def key(*scopes):
        return api_key_create(
            organization=org, name="sync", scopes=scopes, created_by=admin_member
        )[1]

    read, send = key("read"), key("send")
    assert call("get", "/api/v1/conversations/", read).json()["count"] == 1
    path = f"/api/v1/conversations/{conversation.pk}/"
    assert call("post", path + "status/", read, {"status": "closed"}).status_code == 403
    assert call("post", path + "reply/", read, {"text": "Hi"}).status_code == 403
    moved = call("post", path + "status/", send, {"status": "closed"})
    assert moved.status_code == 200 and moved.json()["status"] == "closed"
    refused = call("post", path + "reply/", send, {"text": "Hi"})
    assert refused.status_code == 400 and "not on file" in refused.json()["detail"]
