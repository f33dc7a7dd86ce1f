"""manage.py seed_demo: the demo organizations, idempotent, with consent state that agrees with
its evidence."""

import io
import re

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from families.management.commands.seed_demo import DEMO_PASSWORD, LOGINS
from families.models import (
    ConsentEvent,
    Family,
    FamilyPolicy,
    Guardian,
    Location,
    OptOut,
    PhoneField,
    PhoneNumber,
    Program,
    Student,
)
from families.phones import phone_parse
from smsvoice.models import Organization, StaffMember
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db
FICTIONAL = re.compile(r"^\+1[2-9]\d{2}55501\d{2}$")


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict:
    """Everything the command writes, as comparable values (ids left out on purpose)."""
    return {
        "orgs": sorted(Organization.objects.values_list("name", "country", "time_zone")),
        "families": sorted(Family.objects.values_list("organization__name", "name", "status")),
        "guardians": sorted(Guardian.objects.values_list("family__name", "first_name", "email")),
        "students": sorted(
            Student.objects.values_list("family__name", "first_name", "program__name", "level")
        ),
        "numbers": sorted(
            PhoneNumber.objects.values_list(
                "organization__name", "e164", "field__label", "text_capable", "sms_opt_in"
            )
        ),
        "staff": sorted(StaffMember.objects.values_list("last_name", "role", "user__username")),
        "events": sorted(ConsentEvent.objects.values_list("e164", "opted_in", "source")),
        "optouts": sorted(OptOut.objects.values_list("organization__name", "e164")),
        "policies": FamilyPolicy.objects.count(),
        "fields": PhoneField.objects.count(),
        "users": sorted(get_user_model().objects.values_list("username", flat=True)),
    }


def printed(login: str, output: str) -> bool:
    return re.search(rf"{re.escape(login)}\s+/ {re.escape(DEMO_PASSWORD)}", output) is not None


def demo() -> Organization:
    return Organization.objects.get(name="Demo Gymnastics")


def test_running_it_twice_leaves_the_same_data():
    seed()
    first = snapshot()
    output = seed()
    assert snapshot() == first
    assert "(0 families and 0 staff added now)" in output


def test_it_loads_a_gymnastics_school_of_about_300_families_and_450_students():
    seed()
    org = demo()
    assert (org.country, org.time_zone) == ("US", "America/New_York")
    assert org.contact_phone and org.contact_email
    assert Family.objects.for_org(org).count() == 300
    assert 400 <= Student.objects.for_org(org).count() <= 500
    assert Guardian.objects.for_org(org).count() >= 300
    assert list(PhoneField.objects.for_org(org).values_list("label", flat=True)) == [
        "Mother cell",
        "Father cell",
        "Home",
        "Emergency",
    ]
    assert set(Location.objects.for_org(org).values_list("name", flat=True)) == {
        "Main Street",
        "Riverside",
    }
    programs = set(Program.objects.for_org(org).values_list("name", flat=True))
    assert programs == {"Recreational", "Competitive Team", "Preschool Tumbling", "Ninja", "Adult"}
    for program in programs:
        assert Student.objects.for_org(org).filter(program__name=program).exists()
    assert Student.objects.for_org(org).exclude(level="").values("level").distinct().count() > 10
    assert not Student.objects.for_org(org).filter(birth_date=None).exists()


def test_the_policy_explains_what_is_texted_and_how_to_stop():
    seed()
    policy = FamilyPolicy.objects.for_org(demo()).get()
    assert policy.version == 1
    for words in ("closures", "schedule", "events", "STOP", "HELP", "data rates may apply"):
        assert words in policy.text


def test_it_has_eight_staff_with_cell_numbers_and_two_of_them_log_in():
    seed()
    staff = StaffMember.objects.for_org(demo())
    assert staff.count() == 8
    assert not staff.filter(phone_numbers=None).exists()
    with_login = staff.exclude(user=None)
    assert sorted(with_login.values_list("user__username", "role")) == [
        ("admin@demo.test", "admin"),
        ("coach@demo.test", "staff"),
    ]


def test_every_number_is_a_valid_fictional_number_of_its_countrys():
    seed()
    numbers = PhoneNumber.objects.select_related("organization")
    assert numbers.count() > 600
    for number in numbers:
        assert FICTIONAL.match(number.e164), number.e164
        assert phone_parse(number.e164, country=number.organization.country) == number.e164
    # No two owners share a number by accident (a STOP would otherwise silence both).
    pairs = list(numbers.values_list("organization_id", "e164"))
    assert len(pairs) == len(set(pairs))


def test_every_opted_in_number_has_a_matching_latest_consent_event():
    seed()
    for number in PhoneNumber.objects.all():
        latest = ConsentEvent.objects.filter(phone_number=number).order_by("-created_at", "-id")
        latest = latest.first()
        if latest is None:
            assert number.sms_opt_in is False, number.e164
            continue
        assert latest.opted_in == number.sms_opt_in, number.e164
        assert latest.e164 == number.e164
        if latest.opted_in:
            assert (latest.source, latest.note) == ("import", "demo data")
            assert latest.policy == FamilyPolicy.objects.for_org(number.organization).get()


def test_it_shows_a_mix_of_consent_states():
    seed()
    numbers = PhoneNumber.objects.for_org(demo()).filter(family__isnull=False)
    opted_in = numbers.filter(sms_opt_in=True).count()
    cannot_text = numbers.filter(text_capable=False).count()
    stopped = OptOut.objects.for_org(demo()).count()
    unanswered = numbers.filter(text_capable=True, sms_opt_in=False).count() - stopped
    assert min(opted_in, cannot_text, stopped, unanswered) > 10
    assert opted_in > numbers.count() / 3


def test_a_number_that_replied_stop_is_opted_out_with_the_keyword_as_evidence():
    seed()
    for optout in OptOut.objects.all():
        number = PhoneNumber.objects.get(organization=optout.organization, e164=optout.e164)
        assert number.sms_opt_in is False
        events = ConsentEvent.objects.filter(phone_number=number).order_by("created_at", "id")
        assert [(e.opted_in, e.source) for e in events] == [(True, "import"), (False, "keyword")]


def test_a_second_organization_shows_isolation():
    seed()
    other = Organization.objects.get(name="Riverside Swim School")
    assert other.country == "CA"
    assert 3 <= Family.objects.for_org(other).count() <= 30
    assert StaffMember.objects.get(user__username="admin@riverside.test").organization == other
    demo_numbers = set(PhoneNumber.objects.for_org(demo()).values_list("e164", flat=True))
    other_numbers = set(PhoneNumber.objects.for_org(other).values_list("e164", flat=True))
    assert other_numbers and not demo_numbers & other_numbers
    assert not Guardian.objects.for_org(other).filter(family__organization=demo()).exists()


def test_the_printed_logins_work_and_pass_the_password_validators():
    output = seed()
    for _role, login, _what in LOGINS:
        assert printed(login, output), login
        # With login rate limiting (django-axes) authenticate needs the request it checks.
        request = RequestFactory().post("/accounts/login/")
        user = authenticate(request, username=login, password=DEMO_PASSWORD)
        assert user is not None, login
        assert user.email == login
        validate_password(DEMO_PASSWORD, user)
    parent = Guardian.objects.get(user__username="parent@demo.test")
    assert parent.family.organization == demo()
    assert parent.family.phone_numbers.filter(sms_opt_in=True).exists()
    assert get_user_model().objects.get(username="operator@demo.test").is_superuser
    assert not get_user_model().objects.get(username="admin@demo.test").is_staff


def test_if_empty_loads_nothing_when_an_organization_exists():
    OrganizationFactory(name="Someone's Gym")
    output = seed("--if-empty")
    assert Organization.objects.count() == 1
    assert not Family.objects.exists()
    assert "no demo data was loaded" in output
    assert "no demo logins" in output


def test_if_empty_still_prints_the_logins_of_a_seeded_database():
    seed()
    before = snapshot()
    output = seed("--if-empty")
    assert snapshot() == before
    assert printed("coach@demo.test", output)


def test_asking_for_more_families_later_keeps_the_first_ones():
    seed("--families", "40")
    first = set(PhoneNumber.objects.for_org(demo()).values_list("family__name", "e164"))
    seed("--families", "60")
    assert Family.objects.for_org(demo()).count() == 60
    after = set(PhoneNumber.objects.for_org(demo()).values_list("family__name", "e164"))
    assert first < after


def test_a_family_count_below_one_is_refused_and_changes_nothing():
    with pytest.raises(CommandError, match="--families must be at least 1"):
        seed("--families", "0")
    assert not Organization.objects.exists()


def test_each_demo_organization_can_text_at_once_and_a_second_run_adds_nothing():
    from broadcasts.models import SendingNumber
    from credits.models import LedgerEntry
    from credits.selectors import credits_balance

    seed()
    seed()
    for org in Organization.objects.all():
        assert SendingNumber.objects.for_org(org).filter(status="active").count() == 1
        assert LedgerEntry.objects.for_org(org).count() == 1
        assert credits_balance(organization=org) == 2_000


def test_nobody_in_the_demo_owns_the_organizations_own_sending_number():
    from broadcasts.models import SendingNumber

    seed("--families", "40")
    for org in Organization.objects.all():
        own = SendingNumber.objects.for_org(org).get(status="active").e164
        assert phone_parse(own, country=org.country) == own
        assert not PhoneNumber.objects.filter(e164=own).exists()


def test_demo_cells_name_their_guardian_and_household_numbers_name_nobody():
    seed("--families", "40")
    numbers = PhoneNumber.objects.for_org(demo()).filter(family__isnull=False)
    for number in numbers.select_related("field", "guardian", "family"):
        if number.field.label in ("Home", "Emergency"):
            assert number.guardian is None
        else:
            assert number.guardian is not None and number.guardian.family == number.family
    # The mother's and the father's cell of one family greet different people.
    both = numbers.filter(field__label="Father cell").values_list("family_id", flat=True)
    family = Family.objects.filter(pk__in=both, phone_numbers__field__label="Mother cell").first()
    names = set(
        family.phone_numbers.filter(field__label__endswith="cell").values_list(
            "guardian__first_name", flat=True
        )
    )
    assert len(names) == 2
