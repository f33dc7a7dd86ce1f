"""The SMS pages and API as staff use them: compose, preview JSON, send, progress, audit log,
sending number, and the demo outbox."""

import pytest
from django.urls import reverse

from broadcasts.models import AuditLogEntry, Broadcast, OutboxMessage, SendingNumber
from families.models import OptOut
from families.selection import selection_to_session
from tests.broadcasts.sms_helpers import (
    balance,
    families_selection,
    family_with_number,
    give_credits,
    sender_ready,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def outbox(settings):
    """The embedded default's provider, with tasks run in-process."""
    from smsvoice.celery import app

    settings.SMS_BACKEND = "outbox"
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def select(client, selection):
    session = client.session
    selection_to_session(session, selection=selection)
    session.save()


def preview_api(client, selection, text):
    return client.post(
        reverse("api-broadcast-preview"),
        {"selection": selection.to_dict(), "text": text},
        content_type="application/json",
    )


def test_the_preview_api_gives_counts_parts_and_credits(staff_client, org):
    sender_ready(org, credits=3)
    yes = [family_with_number(org) for _ in range(2)]
    no = family_with_number(org, opted_in=False)
    response = preview_api(staff_client, families_selection(*yes, no), "It’s on " + "x" * 150)
    assert response.status_code == 200
    data = response.json()
    assert data["messages"] == 2
    assert data["excluded"] == [
        {"reason": "not_opted_in", "label": "Not opted in to texts", "count": 1}
    ]
    assert (data["encoding"], data["parts"], data["credits_needed"]) == ("UCS-2", 3, 6)
    assert data["ucs2_characters"] == ["’"]
    assert data["credits_available"] == 3
    assert data["short"] is True and data["can_send"] is False


def test_the_preview_api_refuses_a_bad_selection_clearly(staff_client):
    response = staff_client.post(
        reverse("api-broadcast-preview"),
        {"selection": {"kind": "pets", "ids": [1]}, "text": "Hi"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "Unknown selection kind" in str(response.json())


def test_the_send_api_creates_and_sends(
    staff_client, org, outbox, django_capture_on_commit_callbacks
):
    sender_ready(org, credits=10)
    family = family_with_number(org)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("api-broadcasts"),
            {"selection": families_selection(family).to_dict(), "text": "Hello"},
            content_type="application/json",
        )
    assert response.status_code == 201, response.content
    broadcast = Broadcast.objects.get(pk=response.json()["id"])
    assert broadcast.status == Broadcast.Status.DONE
    assert OutboxMessage.objects.get().to_e164 == family.phone_numbers.get().e164
    detail = staff_client.get(reverse("api-broadcast-detail", args=[broadcast.pk])).json()
    assert detail["progress"]["sent"] == 1


def test_the_send_api_refuses_with_the_reason_and_changes_nothing(staff_client, org):
    sender_ready(org, credits=1)
    families = [family_with_number(org) for _ in range(2)]
    response = staff_client.post(
        reverse("api-broadcasts"),
        {"selection": families_selection(*families).to_dict(), "text": "Hello"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "needs 2 credits but only 1" in response.json()["detail"]
    assert Broadcast.objects.count() == 0 and balance(org) == 1


def test_compose_shows_the_counts_and_confirms_before_sending(
    staff_client, org, outbox, django_capture_on_commit_callbacks
):
    sender_ready(org, credits=10)
    families = [family_with_number(org) for _ in range(3)]
    select(staff_client, families_selection(*families))
    url = reverse("broadcasts:compose", args=["families"])
    page = staff_client.post(url, {"text": "Closed today", "action": "confirm"})
    assert b"Send 3 messages now?" in page.content
    assert OutboxMessage.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        sent = staff_client.post(url, {"text": "Closed today", "action": "send"})
    broadcast = Broadcast.objects.get()
    assert sent.status_code == 302 and sent["Location"] == reverse(
        "broadcasts:detail", args=[broadcast.pk]
    )
    assert OutboxMessage.objects.count() == 3
    detail = staff_client.get(sent["Location"])
    assert b'data-testid="count-sent">3<' in detail.content


def test_compose_warns_in_red_and_disables_send_when_credits_are_short(staff_client, org):
    sender_ready(org, credits=1)
    select(staff_client, families_selection(family_with_number(org), family_with_number(org)))
    page = staff_client.post(
        reverse("broadcasts:compose_preview", args=["families"]), {"text": "Hello"}
    )
    assert b"short-warning" in page.content
    assert b'data-can-send="false"' in page.content


def test_plain_equivalents_replace_the_characters_that_force_ucs2(staff_client, org):
    sender_ready(org)
    select(staff_client, families_selection(family_with_number(org)))
    page = staff_client.post(
        reverse("broadcasts:compose", args=["families"]),
        {"text": "It’s “on” — see you…", "action": "plain"},
    )
    assert b'It\'s "on" - see you...' in page.content.replace(b"&#x27;", b"'").replace(
        b"&quot;", b'"'
    )
    assert b"GSM-7" in page.content


def test_the_audit_log_lists_and_exports_only_this_organizations_messages(
    staff_client, org, other_org, outbox, django_capture_on_commit_callbacks
):
    from broadcasts.sms.compose import broadcast_create
    from tests.factories import StaffMemberFactory

    for organization, text in ((org, "Ours"), (other_org, "=Theirs")):
        sender_ready(organization, credits=5, e164="+1415555010" + str(organization.pk % 10))
        family = family_with_number(organization)
        with django_capture_on_commit_callbacks(execute=True):
            broadcast_create(
                organization=organization,
                sender=StaffMemberFactory(organization=organization),
                selection=families_selection(family),
                text=text,
            )
    assert AuditLogEntry.objects.count() == 2
    page = staff_client.get(reverse("broadcasts:audit"))
    assert b"Ours" in page.content and b"Theirs" not in page.content
    csv = b"".join(staff_client.get(reverse("broadcasts:audit_csv")).streaming_content)
    assert csv.count(b"\r\n") == 2 and b"Ours" in csv and b"Theirs" not in csv


def test_another_organizations_broadcast_is_404(staff_client, other_org):
    broadcast = Broadcast.objects.create(
        organization=other_org,
        selection_kind="families",
        sender_label="x",
        from_e164="+14155550100",
    )
    for name in ("broadcasts:detail", "broadcasts:progress"):
        assert staff_client.get(reverse(name, args=[broadcast.pk])).status_code == 404
    assert staff_client.post(reverse("broadcasts:cancel", args=[broadcast.pk])).status_code == 404
    assert staff_client.get(reverse("api-broadcast-detail", args=[broadcast.pk])).status_code == 404


def test_the_outbox_reply_plays_the_phone_for_stop(
    staff_client, org, outbox, django_capture_on_commit_callbacks
):
    from broadcasts.sms.compose import broadcast_create
    from tests.factories import StaffMemberFactory

    sender_ready(org)
    family = family_with_number(org)
    with django_capture_on_commit_callbacks(execute=True):
        broadcast_create(
            organization=org,
            sender=StaffMemberFactory(organization=org),
            selection=families_selection(family),
            text="Hi",
        )
    number = family.phone_numbers.get().e164
    staff_client.post(reverse("broadcasts:outbox_reply"), {"from": number, "body": "Stop"})
    assert OptOut.objects.filter(organization=org, e164=number).exists()
    page = staff_client.get(reverse("broadcasts:outbox"))
    assert b"unsubscribed" in page.content


def test_the_outbox_can_report_delivery_like_a_carrier(
    staff_client, org, outbox, django_capture_on_commit_callbacks
):
    from broadcasts.sms.compose import broadcast_create
    from tests.factories import StaffMemberFactory

    sender_ready(org, credits=5)
    family = family_with_number(org)
    with django_capture_on_commit_callbacks(execute=True):
        broadcast = broadcast_create(
            organization=org,
            sender=StaffMemberFactory(organization=org),
            selection=families_selection(family),
            text="Hi",
        )
    staff_client.post(reverse("broadcasts:outbox_deliver"), {"status": "undelivered"})
    assert broadcast.recipients.get().status == "undelivered"
    assert balance(org) == 5


def test_admins_buy_and_release_a_sending_number(admin_client, org, outbox):
    from credits.models import CreditAccount

    give_credits(org, 1)
    CreditAccount.objects.filter(organization=org).update(card_payment_method_id="pm_test")
    page = admin_client.get(reverse("broadcasts:sending_number"), {"area_code": "415"})
    assert b"Get this number" in page.content
    admin_client.post(
        reverse("broadcasts:sending_number"), {"action": "buy", "phone_number": "+14155550107"}
    )
    assert SendingNumber.objects.get(organization=org, status="active").e164 == "+14155550107"
    admin_client.post(reverse("broadcasts:sending_number"), {"action": "release"})
    assert not SendingNumber.objects.filter(organization=org, status="active").exists()


def test_a_sending_number_needs_a_card_on_file(admin_client, org, outbox):
    response = admin_client.post(
        reverse("broadcasts:sending_number"),
        {"action": "buy", "phone_number": "+14155550107"},
        follow=True,
    )
    assert b"Put a payment card on file first" in response.content
    assert not SendingNumber.objects.exists()


def test_staff_without_the_admin_role_cannot_manage_the_number(staff_client):
    assert staff_client.get(reverse("broadcasts:sending_number")).status_code == 403


def test_buying_a_number_points_its_webhooks_at_us(admin_client, org, twilio_standin, settings):
    from credits.models import CreditAccount

    settings.SITE_URL = "https://smsvoice.example.com"
    give_credits(org, 1)
    CreditAccount.objects.filter(organization=org).update(card_payment_method_id="pm_test")
    found = admin_client.get(reverse("broadcasts:sending_number"), {"area_code": "415"})
    assert found.status_code == 200
    number = next(iter(found.context["found"])).phone_number
    admin_client.post(
        reverse("broadcasts:sending_number"), {"action": "buy", "phone_number": number}
    )
    bought = next(iter(twilio_standin.numbers.values()))
    assert bought.params["SmsUrl"] == "https://smsvoice.example.com/broadcasts/webhooks/twilio/sms/"
    assert bought.params["VoiceUrl"].endswith("/broadcasts/webhooks/twilio/voice/")
    assert bought.params["StatusCallback"].endswith("/broadcasts/webhooks/twilio/status/")
