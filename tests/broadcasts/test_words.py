"""The words on the main pages and in the messages, read with counts of 1 and 2: one credit,
two credits; one number, two numbers; "this character forces", "these characters force"."""

import pytest
from django.urls import reverse
from django.utils.html import strip_tags

from broadcasts.models import Broadcast, OutboxMessage
from broadcasts.progress import sms_progress_view
from broadcasts.sms.compose import broadcast_create
from credits.models import LedgerEntry
from families.selection import selection_to_session
from tests.broadcasts.sms_helpers import families_selection, family_with_number, sender_ready

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
SMS = reverse("broadcasts:compose", args=["families"])
PREVIEW = reverse("broadcasts:compose_preview", args=["families"])


def words(html: str) -> str:
    """The page's text with its whitespace (template line breaks) folded to single spaces."""
    return " ".join(html.replace("&#x27;", "'").split())


def selected(client, org, n: int, *, credits: int):
    sender_ready(org, credits=credits)
    families = [family_with_number(org) for _ in range(n)]
    session = client.session
    selection_to_session(session, selection=families_selection(*families))
    session.save()
    return families


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, ["Send 1 message now?", "1 credit will be used; 1 is available."]),
        (2, ["Send 2 messages now?", "2 credits will be used; 2 are available."]),
    ],
)
def test_the_sms_confirmation_counts_in_words(staff_client, org, n, expected):
    selected(staff_client, org, n, credits=n)
    html = words(staff_client.post(SMS, {"text": "Hi", "action": "confirm"}).content.decode())
    for sentence in expected:
        assert sentence in html


@pytest.mark.parametrize(
    ("n", "expected"),
    [(1, "only 1 is available"), (2, "only 2 are available")],
)
def test_the_short_warning_counts_in_words(staff_client, org, n, expected):
    selected(staff_client, org, 3, credits=n)
    html = words(staff_client.post(PREVIEW, {"text": "Hi"}, **HTMX).content.decode())
    assert expected in html


def test_one_character_forces_ucs2_and_several_force_it(staff_client, org):
    selected(staff_client, org, 1, credits=5)
    one = words(staff_client.post(PREVIEW, {"text": "It’s on"}, **HTMX).content.decode())
    assert "This character forces UCS-2: <code>’</code>." in one
    several = words(staff_client.post(PREVIEW, {"text": "“It’s on”"}, **HTMX).content.decode())
    assert "These characters force UCS-2: <code>“</code>, <code>’</code>, <code>”</code>." in (
        several
    )
    assert "This character forces" not in several


def test_the_part_sizes_say_70_for_one_part_and_67_when_split(staff_client, org):
    selected(staff_client, org, 1, credits=5)
    single = words(staff_client.post(PREVIEW, {"text": "It’s on"}, **HTMX).content.decode())
    assert "63 of 70 characters left" in single
    assert "Up to 70 characters fit in one part" in single
    split = words(staff_client.post(PREVIEW, {"text": "’" * 80}, **HTMX).content.decode())
    assert "54 of 67 characters left in part 2" in split
    assert "Split into parts of 67 characters (a single part holds 70)." in split
    assert "70 characters a part" not in split


def test_plain_equivalents_are_offered_only_when_they_would_change_the_text(staff_client, org):
    selected(staff_client, org, 1, credits=5)
    emoji = staff_client.post(PREVIEW, {"text": "Go team 🎉"}, **HTMX).content.decode()
    assert "forces UCS-2" in emoji and "Use plain equivalents" not in emoji
    curly = staff_client.post(PREVIEW, {"text": "Go team’s 🎉"}, **HTMX).content.decode()
    assert "Use plain equivalents" in curly
    page = staff_client.post(SMS, {"text": "Go team 🎉", "action": "plain"}).content.decode()
    assert "Use plain equivalents" not in page


@pytest.mark.parametrize(("n", "noun"), [(1, "number"), (2, "numbers")])
def test_the_broadcast_page_and_ledger_count_numbers_in_words(
    staff_client, org, staff_member, n, noun
):
    sender_ready(org, credits=5)
    families = [family_with_number(org) for _ in range(n)]
    broadcast = broadcast_create(
        organization=org,
        sender=staff_member,
        selection=families_selection(*families),
        text="Hi",
    )
    page = words(
        staff_client.get(reverse("broadcasts:detail", args=[broadcast.pk])).content.decode()
    )
    assert f"· {n} {noun} ·" in page
    messages = "message" if n == 1 else "messages"
    assert f"Queued: {n} {messages} will go out shortly." in page
    memo = LedgerEntry.objects.filter(reference=broadcast.debit_reference).get().memo
    assert memo == f"SMS broadcast {broadcast.pk} to {n} {noun}"


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, "Cancelled; 1 unsent message was refunded."),
        (2, "Cancelled; 2 unsent messages were refunded."),
    ],
)
def test_cancelling_says_how_many_were_refunded_in_words(
    staff_client, org, staff_member, n, expected
):
    sender_ready(org, credits=5)
    broadcast = broadcast_create(
        organization=org,
        sender=staff_member,
        selection=families_selection(*[family_with_number(org) for _ in range(n)]),
        text="Hi",
    )
    response = staff_client.post(reverse("broadcasts:cancel", args=[broadcast.pk]), follow=True)
    assert expected in words(response.content.decode())


@pytest.mark.parametrize(
    ("n", "expected"), [(1, "1 message reported delivered."), (2, "2 messages reported delivered.")]
)
def test_the_outbox_reports_delivery_in_words(staff_client, org, settings, n, expected):
    settings.SMS_BACKEND = "outbox"
    sender_ready(org, credits=5)
    for i in range(n):
        OutboxMessage.objects.create(
            sid=f"SM{i}", from_e164="+14155550100", to_e164=f"+1202555010{i}"
        )
    response = staff_client.post(reverse("broadcasts:outbox_deliver"), follow=True)
    assert expected in words(response.content.decode())


def test_consent_history_says_opted_out_of_texts(staff_client, org):
    from broadcasts.sms.replies import keyword_opt_out

    family = family_with_number(org)
    keyword_opt_out(organization=org, e164=family.phone_numbers.get().e164, word="STOP")
    page = words(
        staff_client.get(reverse("families:family_detail", args=[family.pk])).content.decode()
    )
    assert "Opted out of texts" in page and "Opted in to texts" in page
    assert "Opted out to texts" not in page


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (
            1,
            [
                "1 number will be called",
                "1 credit per minute of message",
                "Call 1 number? About 1 credit",
            ],
        ),
        (
            2,
            [
                "2 numbers will be called",
                "2 credits per minute of message",
                "Call 2 numbers? About 2 credits",
            ],
        ),
    ],
)
def test_the_voice_dialog_counts_in_words(staff_client, org, n, expected):
    selected(staff_client, org, n, credits=50)
    url = reverse("broadcasts:voice_compose", args=["families"])
    form = {
        "action": "confirm_send",
        "text": "No class",
        "voice": "Polly.Joanna",
        "language": "en-US",
    }
    html = words(strip_tags(staff_client.post(url, form, **HTMX).content.decode()))
    for sentence in expected:
        assert sentence in html


def test_the_progress_banners_count_in_words(org, staff_member):
    sender_ready(org, credits=5)
    broadcast = broadcast_create(
        organization=org,
        sender=staff_member,
        selection=families_selection(family_with_number(org)),
        text="Hi",
    )
    Broadcast.objects.filter(pk=broadcast.pk).update(status=Broadcast.Status.SENDING)
    broadcast.refresh_from_db()
    assert sms_progress_view(broadcast=broadcast).banner == (
        "Sending 1 message: 0 of 1 done so far."
    )


def test_a_balance_of_one_credit_reads_one_credit(org):
    from credits.models import CreditAccount
    from tests.broadcasts.sms_helpers import give_credits

    give_credits(org, 1)
    assert str(CreditAccount.objects.get(organization=org)).endswith(": 1 credit")


def test_the_seed_summary_counts_in_words(org):
    from io import StringIO

    from families.management.commands.seed_demo import Command, SeedResult

    family_with_number(org)
    out = StringIO()
    Command(stdout=out)._summary(SeedResult(organization=org, families_added=1, staff_added=0))
    summary = out.getvalue()
    assert "Demo Gym: 1 family, 0 students" in summary
    assert "1 number opted in to texts (1 family and 0 staff added now)" in summary
