"""Every staff and portal page shows times in the organization's time zone, and CSV exports
name the zone their times are in.

One moment, 02:51 UTC on 26 November 2025, is 21:51 (9:51 p.m.) on 25 November in New York:
each page must show the New York time and date and never the UTC ones.
"""

import csv
import datetime
import io
from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from broadcasts.models import AuditLogEntry, Broadcast, OutboxMessage, Recipient
from credits.models import LedgerEntry
from families.models import ConsentEvent
from families.services import consent_record
from tests.credits.factories import PurchaseFactory
from tests.factories import (
    FamilyFactory,
    GuardianFactory,
    PhoneFieldFactory,
    PhoneNumberFactory,
    SendingNumberFactory,
    StaffMemberFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

MOMENT = datetime.datetime(2025, 11, 26, 2, 51, tzinfo=datetime.UTC)
LOCAL_24H, UTC_24H = "21:51", "02:51"
LOCAL_12H, UTC_12H = "9:51 p.m.", "2:51 a.m."
LOCAL_DAY, UTC_DAY = "25 Nov 2025", "26 Nov 2025"


@pytest.fixture
def history(org, admin_member):
    """A ledger entry, a purchase, a broadcast with its audit entry and outbox text, and a
    family whose number opted in: all at MOMENT."""
    with mock.patch("django.utils.timezone.now", return_value=MOMENT):
        # Ledger rows and purchases take their time from a default fixed at import: given here.
        LedgerEntry.objects.create(
            organization=org,
            kind=LedgerEntry.Kind.ADJUSTMENT,
            credits=100,
            balance_after=100,
            reference="test",
            memo="opening credits",
            created_at=MOMENT,
        )
        purchase = PurchaseFactory(
            organization=org, status="succeeded", created_at=MOMENT, completed_at=MOMENT
        )
        sender = SendingNumberFactory(organization=org, e164="+14155550100")
        family = FamilyFactory(organization=org, name="Rivera")
        guardian = GuardianFactory(family=family, user=UserFactory(username="maria@example.test"))
        number = PhoneNumberFactory(
            family=family,
            field=PhoneFieldFactory(organization=org, label="Mother cell"),
            e164="+12025550111",
        )
        consent_record(
            phone_number=number, opted_in=True, source=ConsentEvent.Source.STAFF_WITH_CONSENT
        )
        broadcast = Broadcast.objects.create(
            organization=org,
            selection_kind="families",
            text="Gym closed tomorrow",
            sender=admin_member,
            sender_label="Coach",
            from_e164=sender.e164,
            status=Broadcast.Status.DONE,
        )
        recipient = Recipient.objects.create(
            broadcast=broadcast,
            organization=org,
            e164=number.e164,
            family=family,
            owner_label="Rivera",
            status=Recipient.Status.SENT,
            sent_at=MOMENT,
        )
        AuditLogEntry.objects.create(
            organization=org,
            broadcast=broadcast,
            recipient=recipient,
            channel="sms",
            sender=admin_member,
            sender_label="Coach",
            e164=number.e164,
            family=family,
            owner_label="Rivera",
            text="Gym closed tomorrow",
            parts=1,
            credits=1,
            provider_sid="SM" + "0" * 32,
            sent_at=MOMENT,
        )
        OutboxMessage.objects.create(
            sid="SM" + "1" * 32, from_e164=sender.e164, to_e164=number.e164, body="Gym closed"
        )
    return {"family": family, "guardian": guardian, "purchase": purchase}


def _page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_staff_and_portal_pages_show_the_organizations_local_time(admin_client, history):
    staff_pages = {
        "ledger": reverse("credits:balance"),
        "receipt": reverse("credits:receipt", args=[history["purchase"].pk]),
        "broadcasts": reverse("broadcasts:list"),
        "audit log": reverse("broadcasts:audit"),
        "outbox": reverse("broadcasts:outbox"),
    }
    for name, url in staff_pages.items():
        html = _page(admin_client, url)
        assert LOCAL_24H in html and LOCAL_DAY[:6] in html, name
        assert UTC_24H not in html and UTC_DAY[:6] not in html, name

    family_page = _page(
        admin_client, reverse("families:family_detail", args=[history["family"].pk])
    )
    assert LOCAL_12H in family_page and UTC_12H not in family_page

    parent = Client()
    parent.force_login(history["guardian"].user)
    portal = _page(parent, reverse("portal:home"))
    assert LOCAL_DAY in portal and UTC_DAY not in portal


def test_pages_say_which_time_zone_their_times_are_in(admin_client, history):
    assert "Times are America/New_York time" in _page(admin_client, reverse("credits:balance"))


def test_another_organizations_zone_is_its_own(org, admin_client, history):
    org.time_zone = "Australia/Sydney"  # 13:51 on 26 November there
    org.save()
    html = _page(admin_client, reverse("credits:balance"))
    assert "26 Nov 2025 13:51" in html and LOCAL_24H not in html


def test_the_zone_is_not_left_active_after_a_request(admin_client, history):
    _page(admin_client, reverse("credits:balance"))
    assert timezone.get_current_timezone_name() == "UTC"


def test_the_ledger_export_is_in_local_time_and_its_header_says_so(admin_client, history):
    response = admin_client.get(reverse("credits:ledger_csv"))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][0] == "time (America/New_York)"
    assert rows[1][0] == "2025-11-25T21:51:00-05:00"


def test_the_ledger_exports_date_filter_is_a_local_day(admin_client, history):
    # 02:51 UTC on the 26th is the 25th in New York: the export of the 25th has it.
    response = admin_client.get(
        reverse("credits:ledger_csv"), {"date_from": "2025-11-25", "date_to": "2025-11-25"}
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 2


def test_a_staff_member_of_an_organization_without_a_known_zone_sees_utc(org, history):
    org.time_zone = "Mars/Olympus_Mons"
    org.save()
    client = Client()
    client.force_login(StaffMemberFactory(organization=org).user)
    assert UTC_24H in _page(client, reverse("credits:balance"))


def test_the_audit_log_export_is_in_local_time_and_its_header_says_so(admin_client, history):
    response = admin_client.get(reverse("broadcasts:audit_csv"), {"from": "2025-11-25"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][0] == "sent_at (America/New_York)"
    assert [row[0] for row in rows[1:]] == ["2025-11-25T21:51:00-05:00"]
    # The 26th is a UTC day: in New York the message went out on the 25th.
    response = admin_client.get(reverse("broadcasts:audit_csv"), {"from": "2025-11-26"})
    assert len(list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))) == 1
