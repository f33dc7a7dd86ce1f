"""The compose pipeline: who {first_name} greets, shared numbers, merged samples, the
organization's own number, and the merge fields and characters that are refused."""

import pytest
from django.urls import reverse

from broadcasts.models import Recipient, SendingNumber
from broadcasts.recipients import BroadcastRefused
from broadcasts.sms import segments
from broadcasts.sms.compose import broadcast_create, broadcast_preview
from broadcasts.typed_text import refused_characters_message
from broadcasts.voice.recording import tts_broadcast_create, tts_text_clean, voice_preview
from families.models import PhoneNumber
from families.selection import Selection
from tests.broadcasts.sms_helpers import (
    families_selection,
    family_with_number,
    next_number,
    sender_ready,
    student_of,
)
from tests.factories import (
    FamilyFactory,
    GuardianFactory,
    PhoneFieldFactory,
    PhoneNumberFactory,
    StaffMemberFactory,
)

pytestmark = pytest.mark.django_db

OWN = "+14155550100"  # sender_ready's sending number


@pytest.fixture
def sender(org):
    return StaffMemberFactory(organization=org, first_name="Jo", last_name="Coach")


def opted_in_number(family, field, *, guardian=None, e164=None) -> PhoneNumber:
    return PhoneNumberFactory(
        family=family,
        field=field,
        guardian=guardian,
        e164=e164 or next_number(),
        sms_opt_in=True,
    )


def west_family(org):
    """The West family of the issue: Maria's and David's cells, a household and an
    emergency number, each opted in."""
    fields = {
        label: PhoneFieldFactory(organization=org, label=label, order=order)
        for order, label in enumerate(("Mother cell", "Father cell", "Home", "Emergency"))
    }
    family = FamilyFactory(organization=org, name="West")
    maria = GuardianFactory(family=family, first_name="Maria")
    david = GuardianFactory(family=family, first_name="David")
    numbers = {
        "Mother cell": opted_in_number(family, fields["Mother cell"], guardian=maria),
        "Father cell": opted_in_number(family, fields["Father cell"], guardian=david),
        "Home": opted_in_number(family, fields["Home"]),
        "Emergency": opted_in_number(family, fields["Emergency"]),
    }
    return family, numbers


def texts_sent(org, sender, selection, text) -> dict[str, str]:
    broadcast = broadcast_create(organization=org, sender=sender, selection=selection, text=text)
    return dict(
        broadcast.recipients.filter(status=Recipient.Status.PENDING).values_list("e164", "text")
    )


# --- who {first_name} greets ---


def test_first_name_greets_the_owner_of_each_number_not_the_first_guardian(org, sender):
    sender_ready(org)
    family, numbers = west_family(org)
    sent = texts_sent(org, sender, families_selection(family), "Hi {first_name}")
    assert sent[numbers["Mother cell"].e164] == "Hi Maria"
    assert sent[numbers["Father cell"].e164] == "Hi David"
    # Numbers that are no one guardian's greet the household.
    assert sent[numbers["Home"].e164] == "Hi West family"
    assert sent[numbers["Emergency"].e164] == "Hi West family"


def test_a_number_of_a_family_with_one_guardian_greets_that_guardian(org, sender):
    sender_ready(org)
    family = family_with_number(org, guardian="Rosa")  # the number names no guardian
    sent = texts_sent(org, sender, families_selection(family), "Hi {first_name}")
    assert list(sent.values()) == ["Hi Rosa"]


def test_a_staff_number_greets_the_staff_member(org, sender):
    sender_ready(org)
    coach = StaffMemberFactory(organization=org, first_name="Marcus", last_name="Reyes")
    PhoneNumber.objects.create(
        organization=org, staff_member=coach, e164=next_number(), sms_opt_in=True
    )
    selection = Selection(kind="staff", ids=frozenset([coach.pk]))
    sent = texts_sent(org, sender, selection, "Hi {first_name} {family_name}")
    assert list(sent.values()) == ["Hi Marcus Reyes"]


def test_a_number_shared_by_two_students_names_both(org, sender):
    sender_ready(org)
    family = family_with_number(org, guardian="Ana")
    kai, sofia = student_of(family, "Kai"), student_of(family, "Sofia")
    selection = Selection(kind="students", ids=frozenset([kai.pk, sofia.pk]))
    sent = texts_sent(org, sender, selection, "{student_first_name}: practice is cancelled")
    assert list(sent.values()) == ["Kai and Sofia: practice is cancelled"]


def test_a_number_in_two_families_is_texted_once_greeting_both_owners(org, sender):
    sender_ready(org)
    field = PhoneFieldFactory(organization=org, label="Parent cell")
    shared = next_number()
    west = FamilyFactory(organization=org, name="West")
    garcia = FamilyFactory(organization=org, name="Garcia")
    opted_in_number(
        west, field, guardian=GuardianFactory(family=west, first_name="Maria"), e164=shared
    )
    opted_in_number(
        garcia, field, guardian=GuardianFactory(family=garcia, first_name="Luis"), e164=shared
    )
    preview = broadcast_preview(
        organization=org, selection=families_selection(garcia, west), text="Hi {first_name}"
    )
    assert preview.messages == 1
    assert [(s.text, s.shared_by) for s in preview.samples] == [("Hi Luis and Maria", 2)]


# --- merged samples before sending ---


def test_the_preview_has_merged_samples_including_a_shared_number(org, sender):
    sender_ready(org)
    family, _ = west_family(org)
    kai = family_with_number(org, guardian="Ana", name="Adams")
    student_of(kai, "Kai")
    preview = broadcast_preview(
        organization=org,
        selection=families_selection(family, kai),
        text="Hi {first_name}, {organization} is closed",
    )
    texts = [s.text for s in preview.samples]
    assert texts[0] == "Hi Ana, Demo Gym is closed"  # Adams comes first in the list
    assert set(texts) == {
        "Hi Ana, Demo Gym is closed",
        "Hi Maria, Demo Gym is closed",
        "Hi David, Demo Gym is closed",
        "Hi West family, Demo Gym is closed",
    }
    assert all(s.parts == 1 and s.e164 for s in preview.samples)


def test_the_preview_api_returns_merged_samples(staff_client, org):
    sender_ready(org)
    family, numbers = west_family(org)
    response = staff_client.post(
        reverse("api-broadcast-preview"),
        {"selection": families_selection(family).to_dict(), "text": "Hi {first_name}"},
        content_type="application/json",
    )
    assert response.status_code == 200
    samples = response.json()["samples"]
    assert {s["e164"]: s["text"] for s in samples}[numbers["Father cell"].e164] == "Hi David"
    assert set(samples[0]) == {"e164", "owner_label", "text", "parts", "shared_by"}


def test_the_compose_window_shows_the_merged_samples_to_step_through(staff_client, org):
    from families.selection import selection_to_session

    sender_ready(org)
    family, _ = west_family(org)
    session = staff_client.session
    selection_to_session(session, selection=families_selection(family))
    session.save()
    response = staff_client.post(
        reverse("broadcasts:compose_preview", args=["families"]), {"text": "Hi {first_name}"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="samples"' in html
    for text in ("Hi Maria", "Hi David", "Hi West family"):
        assert f">{text}<" in html
    assert "1 of 3" in html
    assert "<script" not in html and "onclick" not in html


# --- the organization's own number ---


def test_sms_never_goes_to_the_organizations_own_sending_number(org, sender):
    sender_ready(org, e164=OWN)
    mine = family_with_number(org, e164=OWN)
    theirs = family_with_number(org)
    selection = families_selection(mine, theirs)
    preview = broadcast_preview(organization=org, selection=selection, text="Hi")
    assert preview.messages == 1
    assert preview.excluded == {"own_number": 1}
    label = "The organization's own sending number"
    assert preview.as_dict()["excluded"] == [{"reason": "own_number", "label": label, "count": 1}]
    sent = texts_sent(org, sender, selection, "Hi")
    assert list(sent) == [theirs.phone_numbers.get().e164]
    left_out = Recipient.objects.get(e164=OWN)
    assert (left_out.status, left_out.reason) == ("excluded", "own_number")


def test_a_released_number_is_not_the_organizations_own_any_more(org, sender):
    sender_ready(org, e164=OWN)
    SendingNumber.objects.filter(e164=OWN).update(status="released")
    SendingNumber.objects.create(organization=org, e164="+14155550177")
    mine = family_with_number(org, e164=OWN)
    preview = broadcast_preview(organization=org, selection=families_selection(mine), text="Hi")
    assert preview.messages == 1


def test_voice_never_calls_the_organizations_own_sending_number(org, sender):
    sender_ready(org, e164=OWN)
    mine = family_with_number(org, e164=OWN, opted_in=False)
    theirs = family_with_number(org, opted_in=False)
    selection = families_selection(mine, theirs)
    preview = voice_preview(organization=org, selection=selection)
    assert (preview.numbers, preview.excluded) == (1, {"own_number": 1})
    broadcast = tts_broadcast_create(
        organization=org,
        sender=sender,
        selection=selection,
        text="The gym is closed today.",
        voice="Polly.Joanna",
        language="en-US",
    )
    called = broadcast.recipients.exclude(status=Recipient.Status.EXCLUDED)
    assert list(called.values_list("e164", flat=True)) == [theirs.phone_numbers.get().e164]
    assert broadcast.recipients.get(e164=OWN).reason == "own_number"


def test_only_the_own_number_selected_is_refused_saying_why(org, sender):
    sender_ready(org, e164=OWN)
    mine = family_with_number(org, e164=OWN)
    with pytest.raises(BroadcastRefused, match="1 the organization's own sending number"):
        broadcast_create(
            organization=org, sender=sender, selection=families_selection(mine), text="Hi"
        )


# --- merge fields that cannot be filled ---

FIELDS = "use {first_name}, {family_name}, {student_first_name}, {organization}"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Hi {first_name}", ""),
        ("Hi {first_name}, {student_first_name} of {family_name} at {organization}", ""),
        ("Hi {FIRST_NAME}", "Unknown merge field {FIRST_NAME}: " + FIELDS),
        ("Hi {firstName}", "Unknown merge field {firstName}: " + FIELDS),
        ("Hi {First_Name}", "Unknown merge field {First_Name}: " + FIELDS),
        ("Hi {first name}", "Unknown merge field {first name}: " + FIELDS),
        ("Hi {firstname}", "Unknown merge field {firstname}: " + FIELDS),
        ("Hi {}", "Unknown merge field {}: " + FIELDS),
        ("Hi {first_name", "A brace is not closed in “{first_name”"),
        ("Hi first_name}", "A closing brace has no opening one in “Hi first_name}”"),
        ("Hi {{first_name}}", "A brace is not closed in “{{first_name}}”"),
        ("Hi {first_name} see you {", "A brace is not closed in “{”"),
    ],
)
def test_merge_fields_are_checked(text, problem):
    found = segments.merge_field_problem(text)
    assert found.startswith(problem) if problem else found == ""


@pytest.mark.parametrize(
    "text", ["Hi {FIRST_NAME}", "Hi {firstName}", "Hi {first_name", "Hi first_name}"]
)
def test_a_bad_merge_field_is_refused_in_preview_and_create(org, sender, text):
    sender_ready(org)
    family = family_with_number(org)
    preview = broadcast_preview(organization=org, selection=families_selection(family), text=text)
    assert not preview.can_send
    assert any("merge field" in p or "brace" in p for p in preview.problems)
    with pytest.raises(BroadcastRefused):
        broadcast_create(
            organization=org, sender=sender, selection=families_selection(family), text=text
        )
    assert not Recipient.objects.exists()


def test_the_api_refuses_a_bad_merge_field(staff_client, org):
    sender_ready(org)
    family = family_with_number(org)
    body = {"selection": families_selection(family).to_dict(), "text": "Hi {firstName}"}
    preview = staff_client.post(
        reverse("api-broadcast-preview"), body, content_type="application/json"
    ).json()
    assert preview["can_send"] is False
    assert preview["problems"][0].startswith("Unknown merge field {firstName}: use {first_name}")
    created = staff_client.post(reverse("api-broadcasts"), body, content_type="application/json")
    assert created.status_code == 400
    assert created.json()["detail"].startswith("Unknown merge field {firstName}")


# --- characters that are refused ---


@pytest.mark.parametrize(
    ("char", "named"),
    [
        ("\x00", "U+0000 (null)"),
        ("\x01", "U+0001 (control character)"),
        ("\x07", "U+0007 (bell)"),
        ("\x1b", "U+001B (escape)"),
        ("\x0c", "U+000C (form feed)"),
        ("\x7f", "U+007F (delete)"),
        ("\x85", "U+0085 (next line)"),
        ("\x9b", "U+009B (control character)"),
        ("\u202a", "U+202A (left-to-right embedding)"),
        ("\u202b", "U+202B (right-to-left embedding)"),
        ("\u202c", "U+202C (pop directional formatting)"),
        ("\u202d", "U+202D (left-to-right override)"),
        ("\u202e", "U+202E (right-to-left override)"),
        ("\u2066", "U+2066 (left-to-right isolate)"),
        ("\u2067", "U+2067 (right-to-left isolate)"),
        ("\u2068", "U+2068 (first strong isolate)"),
        ("\u2069", "U+2069 (pop directional isolate)"),
    ],
)
def test_control_and_bidirectional_characters_are_refused_by_name(char, named):
    message = refused_characters_message(f"Gym {char}closed")
    assert "cannot be sent" in message and named in message


@pytest.mark.parametrize("text", ["Line one\nline two", "Windows\r\nnewline", "a\ttab", "Ça va ✓"])
def test_newlines_tabs_and_ordinary_characters_are_allowed(text):
    assert refused_characters_message(text) == ""


def test_a_control_character_is_refused_in_preview_and_create(org, sender):
    sender_ready(org)
    family = family_with_number(org)
    selection = families_selection(family)
    text = "Gym closed\x1b[31m today"
    preview = broadcast_preview(organization=org, selection=selection, text=text)
    assert not preview.can_send
    assert any("U+001B (escape)" in p for p in preview.problems)
    with pytest.raises(BroadcastRefused, match="U\\+001B"):
        broadcast_create(organization=org, sender=sender, selection=selection, text=text)


def test_the_api_refuses_a_bidirectional_override(staff_client, org):
    sender_ready(org)
    family = family_with_number(org)
    body = {"selection": families_selection(family).to_dict(), "text": "Pay at \u202egro.kcatta"}
    created = staff_client.post(reverse("api-broadcasts"), body, content_type="application/json")
    assert created.status_code == 400
    assert "U+202E (right-to-left override)" in created.json()["detail"]


@pytest.mark.parametrize("char", ["\x1c", "\x1f", "\x85", "\u202e"])
def test_text_to_speech_refuses_them_too(char):
    # \x1c-\x1f and \x85 are whitespace to str.split(): they must not be squeezed away unseen.
    with pytest.raises(BroadcastRefused, match=f"U\\+{ord(char):04X}"):
        tts_text_clean(f"The gym {char}is closed")


def test_the_tab_has_a_plain_equivalent():
    assert segments.plain_equivalents("a\tb") == "a b"


# --- writing the recipient rows ---


def _rows_of(broadcast) -> list[dict]:
    skip = {"id", "broadcast", "broadcast_id"}
    fields = [f.attname for f in Recipient._meta.concrete_fields if f.attname not in skip]
    return list(broadcast.recipients.order_by("id").values(*fields))


def test_recipient_rows_written_in_columns_equal_what_bulk_create_writes(org, sender, monkeypatch):
    """The PostgreSQL path (COPY … FROM STDIN) and the bulk_create path (SQLite) write the same
    rows, every field the model has getting its default, whichever fields it gains later."""
    from django.db import connection

    sender_ready(org, e164=OWN)
    families = [family_with_number(org) for _ in range(3)]
    families.append(family_with_number(org, opted_in=False))
    families.append(family_with_number(org, e164=OWN))
    families.append(FamilyFactory(organization=org))  # no number
    families.append(family_with_number(org, name="O\\Brien\tand\nsons"))  # COPY escapes
    selection = families_selection(*families)
    text = "Hi {family_name}\nline two \\ back\ttab"
    columns = broadcast_create(organization=org, sender=sender, selection=selection, text=text)
    monkeypatch.setattr(connection, "vendor", "sqlite")  # take the bulk_create path
    objects = broadcast_create(organization=org, sender=sender, selection=selection, text=text)
    assert _rows_of(columns) == _rows_of(objects)
    assert len(_rows_of(columns)) == 7
    odd = columns.recipients.get(owner_label__startswith="O\\Brien")
    assert odd.owner_label == "O\\Brien\tand\nsons — Mother cell"
    assert odd.text == "Hi O\\Brien\tand\nsons\nline two \\ back\ttab"
    pending = columns.recipients.filter(status="pending").first()
    for name in ("attempts", "error_code", "provider_sid", "next_attempt_at", "sent_at"):
        assert getattr(pending, name) == Recipient._meta.get_field(name).get_default()


def test_recipient_rows_are_written_in_several_statements_when_many(org, sender, monkeypatch):
    from broadcasts import recipients

    monkeypatch.setattr(recipients, "INSERT_BATCH", 2)
    sender_ready(org)
    families = [family_with_number(org) for _ in range(5)]
    broadcast = broadcast_create(
        organization=org, sender=sender, selection=families_selection(*families), text="Hi"
    )
    assert broadcast.recipients.filter(status="pending").count() == 5
    assert sorted(broadcast.recipients.values_list("family_id", flat=True)) == sorted(
        f.pk for f in families
    )


def test_the_compose_window_says_how_a_shared_number_is_greeted(staff_client, org):
    from families.selection import selection_to_session

    sender_ready(org)
    family = family_with_number(org, guardian="Ana")
    kai, sofia = student_of(family, "Kai"), student_of(family, "Sofia")
    session = staff_client.session
    selection = Selection(kind="students", ids=frozenset([kai.pk, sofia.pk]))
    selection_to_session(session, selection=selection)
    session.save()
    response = staff_client.post(
        reverse("broadcasts:compose_preview", args=["students"]),
        {"text": "News for {student_first_name}: no class"},
    )
    html = response.content.decode()
    assert ">News for Kai and Sofia: no class<" in html
    assert "one number for 2 of the selected, texted once" in html
    assert 'data-testid="shared-hint"' in html


def test_a_name_that_brings_a_control_character_into_the_message_is_refused(org, sender):
    sender_ready(org)
    family = family_with_number(org, guardian="Ma\x1bria", name="West")
    preview = broadcast_preview(
        organization=org, selection=families_selection(family), text="Hi {first_name}"
    )
    assert not preview.can_send
    assert any(
        p.startswith("The message to West — ") and "U+001B (escape)" in p for p in preview.problems
    )
