"""The preview of a text to families is counted by PostgreSQL (``selectors.recipients_counted``)
instead of made from the plan: the same preview, field for field (messages, left out by
reason, credits, parts, samples, problems), as the plan gives, on generated directories with
shared numbers, namesakes ("West" and "west"), accents, STOP replies, the own number, numbers
left out for different reasons and families without numbers; with merge fields, on names of
any length and of any characters a directory can hold (UCS-2 ones, extension characters,
emoji, characters no message may carry), in texts whose own extension characters and emoji
fall wherever the names put them."""

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadcasts import selectors
from broadcasts.selectors import recipients_counted, recipients_plan
from broadcasts.sms import compose
from families.selection import Selection
from tests.broadcasts.test_plan_fast_path import POOL, build, directories, numbers
from tests.factories import SendingNumberFactory

pytestmark = pytest.mark.django_db

TEXTS = st.sampled_from(
    [
        "The gym is closed today.",
        "",
        "a" * 161,  # two parts
        "Snow day 👋",  # UCS-2
        "x" * 1700,  # too long
    ]
)


# Names of every kind: plain ones (counted by their lengths), accents in and out of GSM-7,
# extension characters (two units, never split), emoji (two UTF-16 units), a newline, an
# escape (refused), and lengths that carry a text over a part's edge.
NAME_CHARACTERS = st.sampled_from(
    [*"aZ '-.é", "ł", "ñ", "€", "[", "~", "🎉", "\n", "\x1b", "Δ", "ç"]
)
# Of one length, so that plain and other names meet in one directory: counted alike only
# when every character is plain.
SAME_LENGTH = ["Ana", "Łea", "A€a", "A\x1ba", "Añá", "A[a", "🎉na", "Bo\n", "Kai"]
NAMES = (
    st.text(NAME_CHARACTERS, max_size=12)
    | st.sampled_from(SAME_LENGTH)
    | st.sampled_from(["West", "x" * 60, "Élan"])
)
named_families = st.fixed_dictionaries(
    {
        "name": NAMES.filter(bool),
        "guardians": st.lists(NAMES, max_size=2),
        "numbers": st.lists(numbers, max_size=3, unique_by=lambda n: n["field"]),
        "students": st.lists(st.tuples(NAMES, st.booleans()), max_size=3),
    }
)
named_directories = st.fixed_dictionaries(
    {
        "families": st.lists(named_families, min_size=1, max_size=8),
        "stopped": st.sets(st.sampled_from(POOL), max_size=2),
        "own": st.none() | st.sampled_from(POOL),
        "some": st.booleans(),
    }
)
MERGED = [
    "Hi {first_name}, {student_first_name}'s class at {organization} is off today.",
    "{first_name} {family_name}: " + "y" * 125,  # names decide one part or two
    "€ {family_name} [" + "z" * 140 + "] {first_name}",  # where the € and [ fall counts
    "🎉 {student_first_name} and {first_name} " + "w" * 55,  # UCS-2, an emoji of two units
    "{first_name}{first_name}{family_name}{student_first_name}" + "v" * 150,
    "{family_name} {unknown}",  # left as typed, and a problem
    "Dear {family_name} family",
]
MERGED_TEXTS = st.sampled_from(MERGED)


def previews(org, selection, text):
    counted = compose._draft(organization=org, selection=selection, text=text, counted=True)
    planned = compose._draft(organization=org, selection=selection, text=text)
    return counted, planned


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(directory=directories, text=TEXTS, sending=st.booleans())
def test_the_counted_preview_is_the_preview_the_plan_gives(directory, text, sending):
    with transaction.atomic():  # each example's directory is rolled back after it
        org, selection = build(directory)
        if sending and not directory["own"]:  # the own number is an active one already
            SendingNumberFactory(organization=org, status="active")
        counted, planned = previews(org, selection, text)
        transaction.set_rollback(True)
    assert counted.plan is None, "the counts were not used"
    assert counted.preview == planned.preview


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(directory=named_directories, text=MERGED_TEXTS)
def test_the_counted_preview_of_merged_texts_is_the_preview_the_plan_gives(directory, text):
    with transaction.atomic():
        org, selection = build(directory)
        if not directory["own"]:
            SendingNumberFactory(organization=org, status="active")
        counted, planned = previews(org, selection, text)
        transaction.set_rollback(True)
    assert counted.plan is None, "the counts were not used"
    assert counted.preview == planned.preview


def test_plain_names_count_by_where_they_put_the_texts_two_unit_characters():
    """Names of plain characters count as their lengths, but each name's own: the same total
    split otherwise moves the "[" (two units, never split) onto a part's edge or off it."""

    def family(name, first, e164):
        number = {"field": 0, "e164": e164, "capable": True, "opted": True, "guardian": 0}
        return {"name": name, "guardians": [first], "numbers": [number], "students": []}

    directory = {
        "families": [family("F" * 52, "Gi", POOL[0]), family("Fa", "G" * 52, POOL[1])],
        "stopped": set(),
        "own": None,
        "some": False,
    }
    org, selection = build(directory)
    SendingNumberFactory(organization=org, status="active")
    # 306 units: two parts of 153, unless the "[" after 152 units moves whole to the second.
    text = "y" * 100 + "{family_name}[" + "z" * 150 + "{first_name}"
    counted, planned = previews(org, selection, text)
    assert counted.plan is None
    assert counted.preview == planned.preview
    assert counted.preview.credits_needed == 3 + 2


@pytest.mark.parametrize("text", MERGED)
@pytest.mark.parametrize("first", [SAME_LENGTH, SAME_LENGTH[::-1]])
def test_names_of_one_length_count_alike_only_when_plain(text, first):
    """Names of the same lengths are counted as one only when every character is plain: a
    "Łea" makes its text UCS-2, an "A€a" is four units, an "A\x1ba" cannot be sent."""

    def family(i, name):
        number = {"field": 0, "e164": POOL[i % len(POOL)], "capable": True, "opted": True}
        number["guardian"] = 0
        return {"name": f"Fam{i}", "guardians": [name], "numbers": [number], "students": []}

    directory = {
        "families": [family(i, name) for i, name in enumerate(first[: len(POOL)])],
        "stopped": set(),
        "own": None,
        "some": False,
    }
    org, selection = build(directory)
    SendingNumberFactory(organization=org, status="active")
    counted, planned = previews(org, selection, text)
    assert counted.plan is None
    assert counted.preview == planned.preview


def test_samples_the_counts_cannot_decide_are_taken_from_the_plan(monkeypatch):
    """The counts read the first FIRSTS distinct names: when the samples need more of the
    plan's order than that, the preview is made from the plan, and is the same."""

    def family(name, e164):
        number = {"field": 0, "e164": e164, "capable": True, "opted": True, "guardian": 0}
        return {"name": name, "guardians": [name[0]], "numbers": [number], "students": []}

    directory = {
        "families": [family(name, POOL[i]) for i, name in enumerate(["Ava", "Bo", "Cy", "Di"])],
        "stopped": set(),
        "own": None,
        "some": False,
    }
    org, selection = build(directory)
    SendingNumberFactory(organization=org, status="active")
    monkeypatch.setattr(selectors, "FIRSTS", 2)
    counted, planned = previews(org, selection, "Hi {family_name}")
    assert counted.plan is not None, "two names read cannot decide four samples"
    assert counted.preview == planned.preview
    assert [s.text for s in counted.preview.samples] == ["Hi Ava", "Hi Bo", "Hi Cy", "Hi Di"]
    monkeypatch.setattr(selectors, "FIRSTS", 5)
    assert previews(org, selection, "Hi {family_name}")[0].plan is None
    monkeypatch.setattr(selectors, "FIRSTS", 1)
    for same_for_all in ("Hello", "{organization} is closed"):  # one text: nothing to look for
        counted, planned = previews(org, selection, same_for_all)
        assert counted.plan is None
        assert counted.preview == planned.preview


def test_a_number_left_out_for_different_reasons_counts_once_for_its_first_appearance():
    shared = POOL[0]

    def family(name, capable, opted):
        number = {"field": 0, "e164": shared, "capable": capable, "opted": opted, "guardian": 0}
        return {"name": name, "guardians": ["Ana"], "numbers": [number], "students": []}

    directory = {
        # By code point "West" < "west": West's number is not text-capable, west's not opted in.
        "families": [family("west", True, False), family("West", False, False)],
        "stopped": set(),
        "own": None,
        "some": False,
    }
    org, selection = build(directory)
    counts = recipients_counted(organization=org, selection=selection)
    plan = recipients_plan(organization=org, selection=selection)
    assert counts.messages == 0 and counts.groups == []
    assert counts.excluded_by_reason == {"not_text_capable": 1, "duplicate": 1}
    assert counts.excluded_by_reason == plan.excluded_by_reason


def test_the_first_and_the_first_shared_recipient_are_shown_with_their_owners():
    def family(name, e164):
        number = {"field": 0, "e164": e164, "capable": True, "opted": True, "guardian": 0}
        return {"name": name, "guardians": ["Ana"], "numbers": [number], "students": []}

    directory = {
        "families": [family("Chen", POOL[1]), family("West", POOL[0]), family("Adams", POOL[0])],
        "stopped": set(),
        "own": None,
        "some": False,
    }
    org, selection = build(directory)
    counts = recipients_counted(organization=org, selection=selection)
    assert counts.messages == 2 and counts.excluded_by_reason == {"duplicate": 1}
    assert [(g.first.e164, g.first.owner_label, g.first.shared_by) for g in counts.groups] == [
        (POOL[0], "Adams — Phone 0", 2),
        (POOL[1], "Chen — Phone 0", 1),
    ]
    SendingNumberFactory(organization=org, status="active")
    preview = compose.broadcast_preview(organization=org, selection=selection, text="Hello")
    assert [(s.owner_label, s.shared_by) for s in preview.samples] == [("Adams — Phone 0", 2)]


def test_other_kinds_are_previewed_from_the_plan():
    directory = {"families": [], "stopped": set(), "own": None, "some": False}
    org, _ = build(directory)
    students = Selection(kind="students", filter_query="")
    assert recipients_counted(organization=org, selection=students) is None
    merged = compose._draft(
        organization=org, selection=students, text="Hi {first_name}", counted=True
    )
    assert merged.plan is not None


def test_a_selection_of_no_family_is_nobody():
    directory = {"families": [], "stopped": set(), "own": None, "some": False}
    org, _ = build(directory)
    SendingNumberFactory(organization=org, status="active")
    none_ticked = Selection(kind="families", ids=frozenset())
    counted, planned = previews(org, none_ticked, "Hello")
    assert counted.plan is None
    assert counted.preview == planned.preview
    assert counted.preview.problems[-1] == "Nobody is selected."


def test_the_counts_never_take_a_nested_loop_whatever_the_statistics():
    """Families just imported are not analyzed yet: PostgreSQL then estimates a row or two for
    every join, and a nested loop over two such "rows" that were 50,000 each took over three
    minutes (the recovery bench, 3 December). The counts are planned with hash joins only."""
    directory = {
        "families": [
            {"name": "West", "guardians": ["Ana"], "numbers": [], "students": []},
        ],
        "stopped": {POOL[1]},
        "own": None,
        "some": False,
    }
    org, selection = build(directory)
    plans = []

    def explained(execute, sql, params, many, context):
        if sql.startswith("WITH r AS"):
            execute("EXPLAIN " + sql, params, many, context)
            plans.append("\n".join(row[0] for row in context["cursor"].fetchall()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explained):
        recipients_counted(organization=org, selection=selection)
    (plan,) = plans
    assert "Nested Loop" not in plan, plan
