"""The plan of families texted (``broadcasts.selectors._family_sms_plan``, the one-pass path a
50,000-family broadcast takes) is the plan of the general path every other kind takes: the
same recipients in the same order, the same reasons, names, labels and shared counts, on
generated directories with shared numbers, namesakes, STOP replies, the own number, numbers
that name nobody, inactive students and families without numbers."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadcasts.selectors import _plan
from broadcasts.sms.segments import MERGE_FIELDS
from families.models import Family, Guardian, OptOut, PhoneField, PhoneNumber, Student
from families.selection import Selection
from tests.factories import OrganizationFactory, SendingNumberFactory, fictional_number

pytestmark = pytest.mark.django_db

POOL = [fictional_number(n) for n in range(6)]  # few numbers, so families share them
NAMES = ["West", "west", "Garcia", "Élan", "Chen"]  # namesakes: the order then goes by id
FIRST = ["Maria", "David", "ana", "Ana", ""]
FIELD_ORDERS = (1, 1, 2)  # two fields of one order: the number's id decides

# (text capable, opted in): most numbers may be texted, so shared ones are common.
STATES = [(True, True), (True, True), (True, False), (False, False)]
numbers = st.builds(
    lambda field, e164, state, guardian: {
        "field": field,
        "e164": e164,
        "capable": state[0],
        "opted": state[1],
        "guardian": guardian,
    },
    st.integers(0, len(FIELD_ORDERS) - 1),
    st.sampled_from(POOL),
    st.sampled_from(STATES),
    st.none() | st.integers(0, 1),  # 1 of a family with one guardian names nobody too
)
families = st.fixed_dictionaries(
    {
        "name": st.sampled_from(NAMES),
        "guardians": st.lists(st.sampled_from(FIRST[:4]), max_size=2),
        "numbers": st.lists(numbers, max_size=3, unique_by=lambda n: n["field"]),
        "students": st.lists(st.tuples(st.sampled_from(FIRST), st.booleans()), max_size=3),
    }
)
directories = st.fixed_dictionaries(
    {
        "families": st.lists(families, min_size=2, max_size=8),
        "stopped": st.sets(st.sampled_from(POOL), max_size=2),
        "own": st.none() | st.sampled_from(POOL),
        "some": st.booleans(),  # a few families ticked rather than "all matching"
    }
)


def build(directory: dict):
    org = OrganizationFactory()
    fields = [
        PhoneField.objects.create(organization=org, label=f"Phone {i}", order=order)
        for i, order in enumerate(FIELD_ORDERS)
    ]
    created = []
    for spec in directory["families"]:
        family = Family.objects.create(organization=org, name=spec["name"])
        created.append(family)
        guardians = [
            Guardian.objects.create(
                organization=org, family=family, first_name=first, last_name=spec["name"]
            )
            for first in spec["guardians"]
        ]
        for number in spec["numbers"]:
            who = number["guardian"]
            PhoneNumber.objects.create(
                organization=org,
                family=family,
                field=fields[number["field"]],
                e164=number["e164"],
                text_capable=number["capable"],
                sms_opt_in=number["capable"] and number["opted"],
                guardian=guardians[who] if who is not None and who < len(guardians) else None,
            )
        for first, active in spec["students"]:
            Student.objects.create(
                organization=org,
                family=family,
                first_name=first,
                last_name=spec["name"],
                status=Student.Status.ACTIVE if active else Student.Status.INACTIVE,
            )
    for e164 in directory["stopped"]:
        OptOut.objects.create(organization=org, e164=e164)
    if directory["own"]:
        SendingNumberFactory(organization=org, e164=directory["own"], status="active")
    if directory["some"]:
        selection = Selection(kind="families", ids=frozenset(f.pk for f in created[::2]))
    else:
        selection = Selection(kind="families", filter_query="")
    return org, selection


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(directory=directories, wanted=st.sets(st.sampled_from(MERGE_FIELDS)))
def test_the_one_pass_plan_of_families_is_the_general_plan(directory, wanted):
    with transaction.atomic():  # each example's directory is rolled back after it
        org, selection = build(directory)
        wanted = frozenset(wanted)
        fast = _plan(org, selection, "sms", wanted)
        general = _plan(org, selection, "sms", wanted, general=True)
        transaction.set_rollback(True)
    assert fast.recipients == general.recipients
    assert fast.excluded == general.excluded


def test_both_paths_see_a_shared_number_once_greeting_both_families():
    shared = POOL[0]
    directory = {
        "families": [
            {
                "name": name,
                "guardians": [first],
                "numbers": [
                    {"field": 0, "e164": shared, "capable": True, "opted": True, "guardian": 0}
                ],
                "students": [(kid, True)],
            }
            for name, first, kid in (("West", "Maria", "Kai"), ("Garcia", "Luis", "Sofia"))
        ],
        "stopped": set(),
        "own": None,
        "some": False,
    }
    org, selection = build(directory)
    wanted = frozenset({"first_name", "student_first_name"})
    for general in (False, True):
        plan = _plan(org, selection, "sms", wanted, general=general)
        assert [(r.merge_names, r.shared_by) for r in plan.recipients] == [
            (("Luis and Maria", "", "Sofia and Kai"), 2)
        ]
        assert [r.reason for r in plan.excluded] == ["duplicate"]


def test_neither_path_reaches_a_number_or_guardian_filed_under_another_organization():
    """A family's numbers and guardians are joined by the organization's own rows only: a row
    of another organization pointing at one of its families (it should never exist) is not
    texted through it, nor greeted by it."""
    org, other = OrganizationFactory(), OrganizationFactory()
    field = PhoneField.objects.create(organization=org, label="Cell", order=1)
    theirs = PhoneField.objects.create(organization=other, label="Cell", order=1)
    family = Family.objects.create(organization=org, name="West")
    stranger = Guardian.objects.create(
        organization=other, family=family, first_name="Stranger", last_name="West"
    )
    PhoneNumber.objects.create(
        organization=org,
        family=family,
        field=field,
        e164=POOL[0],
        guardian=stranger,
        text_capable=True,
        sms_opt_in=True,
    )
    PhoneNumber.objects.create(
        organization=other,
        family=family,
        field=theirs,
        e164=POOL[1],
        text_capable=True,
        sms_opt_in=True,
    )
    selection = Selection(kind="families", filter_query="")
    for general in (False, True):
        plan = _plan(org, selection, "sms", frozenset({"first_name"}), general=general)
        assert [(r.e164, r.merge_names[0]) for r in plan.recipients] == [(POOL[0], "West family")]
