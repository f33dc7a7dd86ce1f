"""The preview of a text without merge fields to families is counted by PostgreSQL
(``selectors.recipients_counted``) instead of made from the plan: the same preview, field for
field (messages, left out by reason, credits, parts, samples, problems), as the plan gives, on
generated directories with shared numbers, namesakes ("West" and "west"), accents, STOP
replies, the own number, numbers left out for different reasons and families without numbers."""

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadcasts.selectors import recipients_counted, recipients_plan
from broadcasts.sms import compose
from families.selection import Selection
from tests.broadcasts.test_plan_fast_path import POOL, build, directories
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
    assert counts.messages == 0 and counts.shown == []
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
    assert [(r.e164, r.owner_label, r.shared_by) for r in counts.shown] == [
        (POOL[0], "Adams — Phone 0", 2)
    ]
    SendingNumberFactory(organization=org, status="active")
    preview = compose.broadcast_preview(organization=org, selection=selection, text="Hello")
    assert [(s.owner_label, s.shared_by) for s in preview.samples] == [("Adams — Phone 0", 2)]


def test_merge_fields_and_other_kinds_are_previewed_from_the_plan():
    directory = {"families": [], "stopped": set(), "own": None, "some": False}
    org, selection = build(directory)
    merged = compose._draft(
        organization=org, selection=selection, text="Hi {first_name}", counted=True
    )
    assert merged.plan is not None
    students = Selection(kind="students", filter_query="")
    assert recipients_counted(organization=org, selection=students) is None


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
