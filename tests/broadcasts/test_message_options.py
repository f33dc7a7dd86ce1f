"""Header and footer (Message options) in what the compose window counts, what the API
previews, what is stored and what the Twilio stand-in receives; leaving them out where the law
allows; Canada and Australia."""

import pytest

from broadcasts.models import AuditLogEntry, Broadcast, Recipient
from broadcasts.recipients import BroadcastRefused
from broadcasts.sms import ctia
from broadcasts.sms.compose import broadcast_create, broadcast_preview
from credits.models import LedgerEntry
from tests.broadcasts.sms_helpers import (
    balance,
    families_selection,
    family_with_number,
    sender_ready,
)
from tests.factories import OrganizationFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db

HEADER = "Sunrise Gym"  # 11
FOOTER = "Reply STOP to opt out"  # 21
WRAP = len(HEADER) + len(FOOTER) + 2  # each on its own line: 34


@pytest.fixture
def sender(org):
    return StaffMemberFactory(organization=org, first_name="Jo", last_name="Coach")


def options(org, header=HEADER, footer=FOOTER):
    found = ctia.message_options_for(org)
    found.header, found.footer = header, footer
    found.save()
    return found


def preview(org, families, text, **kw):
    return broadcast_preview(
        organization=org, selection=families_selection(*families), text=text, **kw
    )


@pytest.fixture
def two(org):
    sender_ready(org)
    options(org)
    return [family_with_number(org), family_with_number(org)]


# --- counting ---


def test_the_header_and_footer_fill_the_160_with_the_text(org, two):
    fits = preview(org, two, "x" * (160 - WRAP))
    assert (fits.parts, fits.characters_left, fits.credits_needed) == (1, 0, 2)
    assert fits.samples[0].text == f"{HEADER}\n{'x' * (160 - WRAP)}\n{FOOTER}"
    over = preview(org, two, "x" * (161 - WRAP))
    assert (over.parts, over.per_part, over.credits_needed) == (2, 153, 4)
    assert over.characters_left == 153 * 2 - 161


def test_without_options_the_text_alone_counts(org):
    sender_ready(org)
    families = [family_with_number(org)]
    assert ctia.message_options_for(org).header == ""
    found = preview(org, families, "x" * 160)
    assert (found.parts, found.characters_left, found.header, found.footer) == (1, 0, "", "")
    assert found.samples[0].text == "x" * 160


def test_an_extension_character_in_the_footer_takes_two(org, two):
    options(org, footer="Reply STOP to opt out €")  # 23 characters, 24 septets
    wrap = len(HEADER) + 24 + 2
    assert preview(org, two, "x" * (160 - wrap)).parts == 1
    assert preview(org, two, "x" * (161 - wrap)).parts == 2


def test_a_ucs2_character_in_the_header_makes_the_whole_text_ucs2(org, two):
    options(org, header="Sunrise Gym ☀")  # 13
    wrap = 13 + len(FOOTER) + 2
    fits = preview(org, two, "x" * (70 - wrap))
    assert (fits.encoding, fits.parts, fits.per_part, fits.characters_left) == ("UCS-2", 1, 70, 0)
    assert fits.ucs2_characters == ("☀",) and fits.ucs2_from_options == ("☀",)
    over = preview(org, two, "x" * (71 - wrap))
    assert (over.encoding, over.parts, over.per_part, over.credits_needed) == ("UCS-2", 2, 67, 4)


def test_a_ucs2_character_typed_is_not_blamed_on_the_options(org, two):
    found = preview(org, two, "Closed today 😀")
    assert found.encoding == "UCS-2"
    assert found.ucs2_characters == ("😀",) and found.ucs2_from_options == ()


def test_merge_fields_in_the_header_are_filled_per_recipient(org, two):
    options(org, header="{organization}")
    found = preview(org, two, "Closed")
    assert found.samples[0].text == f"{org.name}\nClosed\n{FOOTER}"


def test_leaving_them_out_counts_only_the_text(org, two):
    found = preview(org, two, "x" * (161 - WRAP), omit_header_footer=True)
    assert (found.parts, found.header_footer_omitted, found.problems) == (1, True, [])
    assert found.samples[0].text == "x" * (161 - WRAP)


def test_an_empty_text_is_still_refused_whatever_the_options(org, two):
    found = preview(org, two, "   ")
    assert "Type a message first." in found.problems and found.credits_needed == 0


# --- what is stored and sent ---


def test_the_recipients_get_the_text_with_header_and_footer_and_pay_for_its_parts(
    org, sender, two, twilio_standin, settings, django_capture_on_commit_callbacks
):
    from smsvoice.celery import app

    app.conf.task_always_eager = True
    try:
        before = balance(org)
        typed = "Hi {first_name}, " + "x" * (161 - WRAP - len("Hi Ana, "))
        with django_capture_on_commit_callbacks(execute=True):
            broadcast = broadcast_create(
                organization=org, sender=sender, selection=families_selection(*two), text=typed
            )
    finally:
        app.conf.task_always_eager = False
    broadcast.refresh_from_db()
    assert broadcast.text == f"{HEADER}\n{typed}\n{FOOTER}"
    assert (broadcast.status, broadcast.max_parts, broadcast.credits_debited) == ("done", 2, 4)
    expected = f"{HEADER}\nHi Ana, {'x' * (161 - WRAP - 8)}\n{FOOTER}"
    bodies = sorted(m.body for m in twilio_standin.messages.values())
    assert bodies == [expected, expected]
    assert balance(org) == before - 4
    debit = LedgerEntry.objects.get(reference=broadcast.debit_reference)
    assert debit.credits == -4
    entries = AuditLogEntry.objects.filter(broadcast=broadcast)
    assert {e.text for e in entries} == {expected} and {e.credits for e in entries} == {2}


def test_left_out_they_are_not_sent(org, sender, two):
    broadcast = broadcast_create(
        organization=org,
        sender=sender,
        selection=families_selection(*two),
        text="Closed",
        omit_header_footer=True,
    )
    assert broadcast.text == "Closed"
    assert set(broadcast.recipients.values_list("text", flat=True)) == {"Closed"}


# --- Canada and Australia ---


@pytest.mark.parametrize("country", ["CA", "AU"])
def test_in_canada_and_australia_they_cannot_be_left_out(country, sender):
    org = OrganizationFactory(name="Maple Swim", country=country)
    sender_ready(org)
    member = StaffMemberFactory(organization=org)
    families = [family_with_number(org)]
    found = preview(org, families, "Closed", omit_header_footer=True)
    assert found.footer == "Maple Swim: Reply STOP to opt out"
    assert found.samples[0].text == "Closed\nMaple Swim: Reply STOP to opt out"
    assert found.header_footer_required and not found.header_footer_omitted
    assert any("cannot be left out" in p for p in found.problems)
    with pytest.raises(BroadcastRefused, match="cannot be left out"):
        broadcast_create(
            organization=org,
            sender=member,
            selection=families_selection(*families),
            text="Closed",
            omit_header_footer=True,
        )
    assert not Broadcast.objects.for_org(org).exists()
    sent = broadcast_create(
        organization=org, sender=member, selection=families_selection(*families), text="Closed"
    )
    assert sent.recipients.get().text == "Closed\nMaple Swim: Reply STOP to opt out"


# --- the compose window and the API ---


def compose_url(kind="families"):
    return f"/broadcasts/compose/sms/{kind}/"


def select(client, families):
    session = client.session
    from families.selection import selection_to_session

    selection_to_session(session, selection=families_selection(*families))
    session.save()


def test_the_compose_window_shows_and_counts_them_and_offers_to_leave_them_out(
    org, two, admin_client
):
    select(admin_client, two)
    page = admin_client.get(compose_url()).content.decode()
    assert 'data-testid="header-text">Sunrise Gym<' in page
    assert 'data-testid="footer-text">Reply STOP to opt out<' in page
    assert 'name="omit_header_footer"' in page
    live = admin_client.post(compose_url() + "preview/", {"text": "x" * (161 - WRAP)})
    assert "2 parts, 2 credits per recipient" in live.content.decode()
    assert "header (11 characters) and the footer (21 characters)" in live.content.decode()
    omitted = admin_client.post(
        compose_url() + "preview/", {"text": "x" * (161 - WRAP), "omit_header_footer": "on"}
    )
    assert "1 part, 1 credit per recipient" in omitted.content.decode()
    assert "Header and footer left out" in omitted.content.decode()


def test_the_compose_window_in_canada_says_why_they_stay(db):
    org = OrganizationFactory(name="Maple Swim", country="CA")
    sender_ready(org)
    families = [family_with_number(org)]
    admin = StaffMemberFactory(organization=org, role="admin")
    from django.test import Client

    client = Client()
    client.force_login(admin.user)
    select(client, families)
    page = client.get(compose_url()).content.decode()
    assert 'name="omit_header_footer"' not in page
    assert "Canada&#x27;s anti-spam law (CASL) requires every text" in page


def test_the_api_preview_counts_them_and_says_what_they_are(org, two, staff_client):
    body = {
        "selection": {"kind": "families", "ids": [f.pk for f in two]},
        "text": "x" * (161 - WRAP),
    }
    found = staff_client.post("/api/v1/broadcasts/preview/", body, content_type="application/json")
    data = found.json()
    assert (data["parts"], data["credits_needed"], data["header"], data["footer"]) == (
        2,
        4,
        HEADER,
        FOOTER,
    )
    assert data["samples"][0]["text"].startswith(HEADER + "\n")
    body["omit_header_footer"] = True
    left_out = staff_client.post(
        "/api/v1/broadcasts/preview/", body, content_type="application/json"
    ).json()
    assert (left_out["parts"], left_out["header_footer_omitted"]) == (1, True)


def test_the_api_create_sends_them(org, two, staff_client):
    body = {"selection": {"kind": "families", "ids": [f.pk for f in two]}, "text": "Closed"}
    made = staff_client.post("/api/v1/broadcasts/", body, content_type="application/json")
    assert made.status_code == 201, made.content
    assert made.json()["text"] == f"{HEADER}\nClosed\n{FOOTER}"
    assert set(Recipient.objects.filter(broadcast_id=made.json()["id"]).values_list(
        "text", flat=True)) == {f"{HEADER}\nClosed\n{FOOTER}"}


def test_another_organizations_options_are_not_used(org, two, other_org):
    options(other_org, header="Other Gym", footer="Other footer")
    found = preview(org, two, "Closed")
    assert found.samples[0].text == f"{HEADER}\nClosed\n{FOOTER}"


def test_an_australian_sender_id_without_a_reply_path_needs_a_non_reply_unsubscribe(
    monkeypatch,
):
    import broadcasts.readiness

    org = OrganizationFactory(name="Bondi Dance", country="AU")
    sender_ready(org)
    families = [family_with_number(org)]
    monkeypatch.setattr(broadcasts.readiness, "sends_without_reply_path", lambda o: True)
    found = preview(org, families, "Closed")
    assert any("a way to unsubscribe without replying" in p for p in found.problems)
    assert not found.can_send
    options(org, header="", footer="Bondi Dance. Unsubscribe: bondi.example/u")
    assert not footer_problems(preview(org, families, "Closed"))
    monkeypatch.setattr(broadcasts.readiness, "sends_without_reply_path", lambda o: False)
    options(org, header="", footer="Bondi Dance: Reply STOP to opt out")
    assert not footer_problems(preview(org, families, "Closed"))


def footer_problems(found) -> list[str]:
    return [p for p in found.problems if "footer" in p]


def test_a_canadian_footer_saved_without_the_sender_is_refused_at_send(sender):
    org = OrganizationFactory(name="Maple Swim", country="CA")
    sender_ready(org)
    families = [family_with_number(org)]
    options(org, header="", footer="Reply STOP to opt out")  # written around the form
    found = preview(org, families, "Closed")
    assert any("The footer lacks the business name" in p for p in found.problems)


def test_the_outbox_records_the_text_with_header_and_footer_and_the_signup(
    org, sender, settings, django_capture_on_commit_callbacks
):
    from broadcasts.models import OutboxMessage
    from families.services import phone_texts_set_by_staff
    from smsvoice.celery import app

    settings.SMS_BACKEND = "outbox"
    sender_ready(org)
    options(org)
    family = family_with_number(org)
    newcomer = family_with_number(org, opted_in=False).phone_numbers.get()
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            broadcast_create(
                organization=org,
                sender=sender,
                selection=families_selection(family),
                text="Closed",
            )
        with django_capture_on_commit_callbacks(execute=True):
            phone_texts_set_by_staff(
                phone_number=newcomer, on=True, actor=None, consent_confirmed=True
            )
    finally:
        app.conf.task_always_eager = False
    bodies = dict(OutboxMessage.objects.values_list("to_e164", "body"))
    assert bodies[family.phone_numbers.get().e164] == f"{HEADER}\nClosed\n{FOOTER}"
    assert bodies[newcomer.e164] == ctia.signup_text(org)  # sent as written, not wrapped


def test_before_typing_the_count_says_what_the_header_and_footer_leave(org, two):
    found = preview(org, two, "")
    assert (found.characters_left, found.per_part, found.parts) == (160 - WRAP, 160, 0)
    options(org, header="Sunrise Gym ☀")
    ucs2 = preview(org, two, "")
    assert (ucs2.encoding, ucs2.characters_left) == ("UCS-2", 70 - (13 + len(FOOTER) + 2))
    assert preview(org, two, "", omit_header_footer=True).characters_left == 160
