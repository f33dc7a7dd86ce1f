"""``manage.py seed_demo``: the embedded demo's data, and the generator the list benchmark uses.

Two organizations: "Demo Gymnastics" (US, about 300 families and 450 students, 8 staff) and
"Riverside Swim School" (Canada, a few families) to show that one organization never sees the
other's rows. Running it again adds nothing: organizations, staff, locations, programs and
template fields are looked up by name, families by their generated name (the third "Garcia"
family is the third one on every run), and the generator is seeded, so the same families come
out in the same order with the same numbers every time.

Numbers are in the 555-0100..0199 block that North American numbering keeps for fiction,
spread over several real area codes so that they are valid numbers (checked with phone_parse).
Opt-ins are written in bulk together with their ConsentEvent rows (source "import", note
"demo data"), so the state and the evidence agree exactly as if consent_record had written them.
"""

from __future__ import annotations

import datetime
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import ngettext

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
from families.phones import phone_display, phone_parse
from families.services import consent_record, phone_field_add, policy_publish, staff_phone_add
from smsvoice.models import Organization, StaffMember

SEED = 20250901
# One password for every demo login; it passes Django's validators (see the seed_demo tests).
DEMO_PASSWORD = "cartwheel-demo-2025"
IMPORT_NOTE = "demo data"
IMPORT_ACTOR = "demo data import"
BATCH = 2000

IN, STOPPED, NONE = "in", "stopped", "none"

LAST_NAMES = (  # noqa: SIM905 - a paragraph of names reads better than a column
    "Adams Alvarez Anderson Bailey Baker Barnes Bell Bennett Brooks Brown Bryant Butler "
    "Campbell Carter Castillo Chen Clark Coleman Collins Cook Cooper Cox Cruz Davis Diaz "
    "Dixon Edwards Ellis Evans Fisher Flores Foster Garcia Gibson Gomez Gonzalez Gordon "
    "Graham Gray Green Griffin Hall Hamilton Harris Hayes Henderson Hernandez Hill Holmes "
    "Howard Hughes Hunt Jackson James Jenkins Johnson Jones Jordan Kelly Kennedy Kim King "
    "Lee Lewis Long Lopez Marshall Martin Martinez Mason Mendoza Miller Mitchell Moore "
    "Morales Morgan Morris Murphy Murray Myers Nguyen Nelson Ortiz Owens Palmer Parker Patel "
    "Perez Perry Peterson Phillips Powell Price Ramirez Ramos Reed Reyes Reynolds Richardson "
    "Rivera Roberts Robinson Rodriguez Rogers Ross Russell Sanchez Sanders Scott Shah Shaw "
    "Simmons Singh Smith Stewart Sullivan Taylor Thomas Thompson Torres Tran Turner Walker "
    "Wallace Ward Warren Washington Watson West White Williams Wilson Wood Wright Young"
).split()
MOTHER_NAMES = (  # noqa: SIM905 - a paragraph of names reads better than a column
    "Aisha Alicia Amanda Ana Angela Ashley Brittany Carmen Chloe Christina Claire Dana "
    "Danielle Elena Emily Erin Fatima Grace Hannah Heather Isabel Jasmine Jennifer Jessica "
    "Julia Karen Katie Laura Lauren Lisa Maria Megan Melissa Michelle Monica Natalie Nicole "
    "Priya Rachel Rebecca Rosa Sara Sophia Stephanie Tanya Vanessa Yuki"
).split()
FATHER_NAMES = (  # noqa: SIM905 - a paragraph of names reads better than a column
    "Aaron Adam Ahmed Andre Andrew Anthony Ben Brandon Brian Carlos Chris Daniel David Derek "
    "Eric Ethan Gabriel Greg Hiro Jason Javier Jeff Jonathan Jose Kevin Luis Marcus Mark Matt "
    "Michael Mike Nathan Omar Patrick Paul Raj Ryan Sam Scott Sean Steve Thomas Tony Victor"
).split()
CHILD_NAMES = (  # noqa: SIM905 - a paragraph of names reads better than a column
    "Aaliyah Abigail Aiden Amara Aria Aubrey Ava Bella Caleb Camila Carter Charlotte Chloe "
    "Dylan Elijah Ella Emma Ethan Evelyn Ezra Gianna Grace Harper Hazel Isaac Isla Jack "
    "Jayden Kai Layla Leah Leo Liam Lily Lucas Luna Maya Mason Mia Mila Noah Nora Olivia "
    "Owen Riley Ruby Sofia Stella Theo Violet Wyatt Zoe Zara"
).split()


@dataclass(frozen=True)
class ProgramSpec:
    name: str
    levels: tuple[str, ...]
    ages: tuple[int, int]
    weight: int


@dataclass(frozen=True)
class PhoneFieldSpec:
    """A Family Template line. ``holder`` says whose number goes there: a guardian role
    ("mother", "father"), the first or second guardian ("first", "second"), or the household
    ("household"), which only ``share`` of the families fill in."""

    label: str
    holder: str
    share: float = 1.0
    text_capable_share: float = 1.0


@dataclass(frozen=True)
class StaffSpec:
    first_name: str
    last_name: str
    title: str
    role: str = StaffMember.Role.STAFF
    login: str = ""  # the email a login is made for; no login when empty
    opted_in: bool = True


@dataclass(frozen=True)
class OrgSpec:
    name: str
    country: str
    time_zone: str
    contact_phone: str
    contact_email: str
    email_domain: str
    locations: tuple[tuple[str, int], ...]  # name, weight
    programs: tuple[ProgramSpec, ...]
    phone_fields: tuple[PhoneFieldSpec, ...]
    staff: tuple[StaffSpec, ...]
    area_codes: tuple[int, ...]
    policy: str
    families: int
    # Texts and calls go out from this number; it is outside the pool that gives people their
    # numbers, so nobody in the demo owns the organization's own sending number.
    sending_number: str = ""
    # The first family's first guardian gets this parent-portal login.
    parent_login: str = ""
    # Canada (CASL): the family policy gives it.
    mailing_address: str = ""


def _policy(name: str, phone: str, address: str = "") -> str:
    return _policy_text(name, phone) + (f"\n\nOur mailing address: {address}." if address else "")


def _policy_text(name: str, phone: str) -> str:
    return (
        f"{name} sends text messages to the numbers you opt in, and only about your family's "
        "classes: closures (weather, holidays, emergencies), schedule and coach changes, "
        "events, meets and shows, and reminders about them.\n\n"
        "How often: a few messages a month, more on days we have to close. We never send "
        "messages from other companies and never sell or share your number.\n\n"
        "Reply STOP to any message to stop all texts from us, START to receive them again, "
        f"HELP for help, or call us at {phone_display(phone)}. You can also change your "
        "choice on the parent portal at any time.\n\n"
        "Message and data rates may apply. Consent is not a condition of enrollment."
    )


DEMO_GYMNASTICS = OrgSpec(
    name="Demo Gymnastics",
    country=Organization.Country.US,
    time_zone="America/New_York",
    contact_phone="+12155550100",
    contact_email="office@demogymnastics.test",
    email_domain="demogymnastics.test",
    locations=(("Main Street", 65), ("Riverside", 35)),
    programs=(
        ProgramSpec("Recreational", ("Beginner", "Intermediate", "Advanced"), (5, 12), 40),
        ProgramSpec(
            "Competitive Team",
            ("Level 3", "Level 4", "Level 5", "Level 6", "Xcel Bronze", "Xcel Silver", "Xcel Gold"),
            (7, 17),
            15,
        ),
        ProgramSpec("Preschool Tumbling", ("Parent & Tot", "Tiny Tumblers", "Pre-K"), (2, 5), 20),
        ProgramSpec("Ninja", ("Ninja 1", "Ninja 2", "Ninja Elite"), (6, 14), 20),
        ProgramSpec("Adult", ("Adult Open Gym",), (18, 45), 5),
    ),
    phone_fields=(
        PhoneFieldSpec("Mother cell", "mother"),
        PhoneFieldSpec("Father cell", "father"),
        PhoneFieldSpec("Home", "household", share=0.35, text_capable_share=0.15),
        PhoneFieldSpec("Emergency", "household", share=0.25),
    ),
    staff=(
        StaffSpec("Dana", "Whitfield", "Owner", StaffMember.Role.ADMIN, login="admin@demo.test"),
        StaffSpec("Marcus", "Reyes", "Head Coach", login="coach@demo.test"),
        StaffSpec("Alicia", "Romero", "Team Coach"),
        StaffSpec("Ben", "Okafor", "Ninja Coach"),
        StaffSpec("Grace", "Kim", "Preschool Coach"),
        StaffSpec("Tyler", "Brooks", "Recreational Coach"),
        StaffSpec("Nina", "Alvarez", "Front Desk"),
        StaffSpec("Sam", "Foster", "Office Manager", opted_in=False),
    ),
    # 3,400 numbers, enough for about 1,500 families before any repeats. 215 is left out: it
    # holds the office's own contact number.
    area_codes=(
        *(267, 484, 610, 856, 302, 201, 732, 908, 973, 212, 646, 718, 347, 516, 914, 410),
        *(202, 203, 301, 412, 570, 585, 607, 617, 631, 716, 845, 862, 917, 305, 404, 312),
        *(415, 213),
    ),
    policy=_policy("Demo Gymnastics", "+12155550100"),
    families=300,
    sending_number="+12155550101",
    parent_login="parent@demo.test",
)

RIVERSIDE_SWIM = OrgSpec(
    name="Riverside Swim School",
    country=Organization.Country.CA,
    time_zone="America/Vancouver",
    contact_phone="+16045550100",
    contact_email="hello@riversideswim.test",
    email_domain="riversideswim.test",
    locations=(("Riverside Aquatic Centre", 1),),
    programs=(
        ProgramSpec("Learn to Swim", ("Level 1", "Level 2", "Level 3", "Level 4"), (4, 12), 70),
        ProgramSpec("Swim Team", ("Bronze", "Silver", "Gold"), (8, 17), 20),
        ProgramSpec("Parent & Tot", ("Splashers",), (1, 3), 10),
    ),
    phone_fields=(
        PhoneFieldSpec("Parent cell", "first"),
        PhoneFieldSpec("Second parent cell", "second"),
        PhoneFieldSpec("Home", "household", share=0.3, text_capable_share=0.1),
    ),
    staff=(
        StaffSpec(
            "Jordan", "Lee", "Aquatics Director", StaffMember.Role.ADMIN, "admin@riverside.test"
        ),
        StaffSpec("Mei", "Tanaka", "Swim Instructor"),
    ),
    area_codes=(778, 236, 250),  # 604 holds the office's contact number
    policy=_policy(
        "Riverside Swim School", "+16045550100", "4500 River Road, Vancouver, BC V6B 1A1"
    ),
    families=12,
    sending_number="+16045550101",
    mailing_address="4500 River Road, Vancouver, BC V6B 1A1",
)

# The operator's login to the Django admin (/admin/), which sees every organization.
OPERATOR_LOGIN = "operator@demo.test"


# --- Plans: what one family looks like, decided before anything is written. ---


@dataclass
class GuardianPlan:
    role: str  # mother / father
    first_name: str
    last_name: str
    email: str


@dataclass
class StudentPlan:
    first_name: str
    birth_date: datetime.date
    program: str
    level: str
    status: str


@dataclass
class NumberPlan:
    field: str
    e164: str
    text_capable: bool
    consent: str  # IN, STOPPED (opted in, then replied STOP) or NONE (never answered)
    holder: str = "household"  # whose number: see PhoneFieldSpec.holder


@dataclass
class FamilyPlan:
    name: str
    status: str
    location: str
    guardians: list[GuardianPlan] = field(default_factory=list)
    students: list[StudentPlan] = field(default_factory=list)
    numbers: list[NumberPlan] = field(default_factory=list)


class NumberPool:
    """Fictional numbers handed out in a fixed order: 555-0100..0199 in each area code in
    turn, starting over (so repeating numbers) only when a very large run uses them all."""

    def __init__(self, *, country: str, area_codes: Sequence[int]) -> None:
        self._numbers = [
            phone_parse(f"+1{area} 555 {line:04d}", country=country)
            for area in area_codes
            for line in range(100, 200)
        ]
        self._next = 0

    def take(self) -> str:
        number = self._numbers[self._next % len(self._numbers)]
        self._next += 1
        return number


def _weighted(rng: random.Random, choices: Sequence[tuple[object, int]]) -> object:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def _family_name(rng: random.Random) -> str:
    """A surname, sometimes double-barrelled; two unrelated families may share one, as in life."""
    if rng.random() < 0.12:
        return "-".join(rng.sample(LAST_NAMES, 2))
    return rng.choice(LAST_NAMES)


def _guardians(rng: random.Random, surname: str, domain: str, both: bool) -> list[GuardianPlan]:
    mother_surname, _, father_surname = surname.partition("-")
    father_surname = father_surname or mother_surname
    mother = (rng.choice(MOTHER_NAMES), mother_surname)
    father = (rng.choice(FATHER_NAMES), father_surname)
    if both:
        people = [("mother", *mother), ("father", *father)]
    else:
        people = [("mother", *mother)] if rng.random() < 0.75 else [("father", *father)]
    return [
        GuardianPlan(role, first, last, f"{first}.{last}@{domain}".lower())
        for role, first, last in people
    ]


def _student(
    rng: random.Random, spec: OrgSpec, today: datetime.date, family_status: str
) -> StudentPlan:
    program = _weighted(rng, [(p, p.weight) for p in spec.programs])
    age = rng.randint(*program.ages)
    birth_date = today - datetime.timedelta(days=age * 365 + age // 4 + rng.randint(0, 364))
    status = (
        Student.Status.INACTIVE
        if family_status == Family.Status.INACTIVE
        else _weighted(
            rng,
            [
                (Student.Status.ACTIVE, 88),
                (Student.Status.WAITLIST, 7),
                (Student.Status.INACTIVE, 5),
            ],
        )
    )
    return StudentPlan(
        rng.choice(CHILD_NAMES), birth_date, program.name, rng.choice(program.levels), status
    )


def _consent(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.62:
        return IN
    return STOPPED if roll < 0.70 else NONE


def _has_holder(holder: str, guardians: list[GuardianPlan]) -> bool:
    roles = [g.role for g in guardians]
    return {
        "mother": "mother" in roles,
        "father": "father" in roles,
        "first": len(guardians) >= 1,
        "second": len(guardians) >= 2,
        "household": True,
    }[holder]


def family_plans(
    *, spec: OrgSpec, count: int, pool: NumberPool, rng: random.Random, today: datetime.date
) -> Iterator[FamilyPlan]:
    """The organization's first ``count`` families, always the same ones in the same order."""
    for index in range(count):
        showcase = index == 0 and bool(spec.parent_login)
        name = _family_name(rng)
        status = Family.Status.INACTIVE if rng.random() < 0.06 else Family.Status.ACTIVE
        plan = FamilyPlan(name=name, status=status, location=str(_weighted(rng, spec.locations)))
        both = showcase or rng.random() < 0.65
        plan.guardians = _guardians(rng, name, spec.email_domain, both)
        kids = _weighted(rng, [(1, 60), (2, 32), (3, 8)])
        plan.students = [_student(rng, spec, today, status) for _ in range(kids)]
        for student in plan.students:
            student.first_name = _sibling_name(rng, student.first_name, plan.students)
        for line in spec.phone_fields:
            present = _has_holder(line.holder, plan.guardians) and rng.random() < line.share
            capable = rng.random() < line.text_capable_share
            consent = _consent(rng) if capable else NONE
            if present or showcase:
                plan.numbers.append(
                    NumberPlan(line.label, pool.take(), capable, consent, line.holder)
                )
        if showcase:
            _showcase(plan, spec.parent_login)
        yield plan


def _sibling_name(rng: random.Random, name: str, siblings: list[StudentPlan]) -> str:
    taken = [s.first_name for s in siblings]
    while taken.count(name) > 1:
        name = rng.choice(CHILD_NAMES)
        taken = [*taken, name]
    return name


def _showcase(plan: FamilyPlan, login: str) -> None:
    """The parent login's family shows every state on the portal: one number opted in, one
    not yet answered, a landline that cannot text, and a number that replied STOP."""
    plan.status = Family.Status.ACTIVE
    plan.guardians[0].email = login
    states = [(True, IN), (True, NONE), (False, NONE), (True, STOPPED)]
    for number, (capable, consent) in zip(plan.numbers, states, strict=False):
        number.text_capable, number.consent = capable, consent
    for student in plan.students:
        student.status = Student.Status.ACTIVE


# --- Writing ---


@dataclass
class SeedResult:
    organization: Organization
    families_added: int = 0
    staff_added: int = 0


DEMO_OPENING_CREDITS = 2_000


def demo_organization_seed(*, spec: OrgSpec, families: int | None = None) -> SeedResult:
    """Create what is missing of ``spec``'s organization; what exists is left as it is."""
    rng = random.Random(f"{SEED}:{spec.name}")
    organization, _ = Organization.objects.get_or_create(
        name=spec.name,
        defaults={
            "country": spec.country,
            "time_zone": spec.time_zone,
            "contact_phone": spec.contact_phone,
            "contact_email": spec.contact_email,
            "mailing_address": spec.mailing_address,
        },
    )
    if spec.mailing_address and not organization.mailing_address:  # seeded before it existed
        organization.mailing_address = spec.mailing_address
        organization.save(update_fields=["mailing_address"])
    result = SeedResult(organization=organization)
    pool = NumberPool(country=spec.country, area_codes=spec.area_codes)
    staff_numbers = _staff_seed(organization, spec, pool)
    result.staff_added = len(staff_numbers)
    admin = StaffMember.objects.for_org(organization).filter(role=StaffMember.Role.ADMIN).first()
    policy = policy_publish(
        organization=organization, text=spec.policy, actor=admin.user if admin else None
    )
    for number in staff_numbers:  # after the policy, so each opt-in names the version shown
        if number is not None:
            consent_record(
                phone_number=number,
                opted_in=True,
                source=ConsentEvent.Source.IMPORT,
                actor_label=IMPORT_ACTOR,
                note=IMPORT_NOTE,
                policy=policy,
            )
    _directory_seed(organization, spec)
    existing = Counter(Family.objects.for_org(organization).values_list("name", flat=True))
    seen: Counter[str] = Counter()
    missing = []
    for plan in family_plans(
        spec=spec, count=families or spec.families, pool=pool, rng=rng, today=timezone.localdate()
    ):
        seen[plan.name] += 1
        if seen[plan.name] > existing[plan.name]:  # the n-th family of that name is not there yet
            missing.append(plan)
    result.families_added = families_insert(organization=organization, plans=missing, policy=policy)
    if spec.parent_login:
        _parent_login_link(organization, spec.parent_login)
    _ready_to_send(organization, spec)
    _replies_seed(organization)
    _api_key_seed(organization, admin)
    if spec.parent_login:
        _import_seed(organization)
    return result


def _api_key_seed(organization: Organization, admin: StaffMember | None) -> None:
    """One key on Settings > API keys, once, so the list has a row; its secret is thrown away
    (nobody can use it), as a real key's is after it is shown."""
    from smsvoice.api_keys import api_key_create
    from smsvoice.models import APIKey

    if admin is None or APIKey.objects.for_org(organization).exists():
        return
    api_key_create(
        organization=organization,
        name="Class system sync (demo)",
        scopes=["read", "write"],
        created_by=admin,
    )


def _replies_seed(organization: Organization) -> None:
    """Two replies the demo has received, once: a HELP (answered, free) and one that may be a
    revocation, waiting on Broadcasts > Replies to review (issue 12)."""
    from broadcasts.models import InboundMessage, SendingNumber
    from broadcasts.sms.replies import inbound_sms_handle

    sending = SendingNumber.objects.for_org(organization).filter(status="active").first()
    if sending is None or InboundMessage.objects.for_org(organization).exists():
        return
    numbers = PhoneNumber.objects.for_org(organization).filter(
        family__isnull=False, sms_opt_in=True
    )
    replies = ("HELP", "Can I cancel Tuesday's lesson? Maya is sick")
    for number, body in zip(numbers.order_by("id")[:2], replies, strict=False):
        inbound_sms_handle(to_e164=sending.e164, from_e164=number.e164, body=body)


# The demo's first families "matched with the previous system" by Families > Import, so the
# demo shows a finished import (its report, the remembered columns): the file gives each its
# id there (an external id) and changes nothing else, so the demo's figures stay as they are.
DEMO_IMPORT_FILE = "previous-system-ids.csv"
DEMO_IMPORT_HEADERS = "Family ID,Family Name,Parent 1 First Name,Parent 1 Last Name,Parent 1 Email"


def _import_seed(organization: Organization) -> None:
    """Once: the demo's file through the real import (check, then chunks), in this process;
    the task each commit also queues finds the work done and does nothing."""
    from families.importing import apply, mapping
    from families.importing.models import DirectoryImport
    from families.importing.parse import parse_text
    from families.importing.plan import Config

    if DirectoryImport.objects.filter(organization=organization).exists():
        return
    admin = StaffMember.objects.for_org(organization).filter(role=StaffMember.Role.ADMIN).first()
    if admin is None or admin.user is None:
        return
    label = f"{admin.full_name} (admin)"
    rows = [DEMO_IMPORT_HEADERS]
    with_email = Guardian.objects.for_org(organization).exclude(email="")
    emails = Counter(g.email.lower() for g in with_email)
    picked: list[Guardian] = []
    for guardian in with_email.select_related("family").order_by("family_id", "id"):
        # One guardian a family, with an email no other guardian has: a sure match.
        mine = [g for g in picked if g.family_id == guardian.family_id]
        if not mine and emails[guardian.email.lower()] == 1:
            picked.append(guardian)
        if len(picked) == 3:
            break
    for n, guardian in enumerate(picked, start=1001):
        family = guardian.family
        rows.append(
            f"JR-{n},{family.name},{guardian.first_name},{guardian.last_name},{guardian.email}"
        )
    with transaction.atomic():
        imported = apply.import_create(
            organization=organization,
            actor=admin.user,
            actor_label=label,
            file_name=DEMO_IMPORT_FILE,
            data="\n".join(rows).encode(),
        )
        headers = parse_text(imported.content).headers
        columns = mapping.guess_mapping(headers, organization=organization)
        config = Config(columns=columns)
        apply.import_check_start(directory_import=imported, config=config)
    apply.import_check(directory_import_id=imported.pk)
    imported.refresh_from_db()
    with transaction.atomic():
        apply.import_start(directory_import=imported, actor=admin.user, actor_label=label)
    apply.import_run(directory_import_id=imported.pk)


def _ready_to_send(organization: Organization, spec: OrgSpec) -> None:
    """A demo organization can text at once: a sending number (the outbox 'owns' it) and an
    opening balance, each given once and never again (a released number stays released)."""
    from broadcasts.models import SendingNumber
    from credits.models import LedgerEntry
    from credits.services import credits_adjust

    if not SendingNumber.objects.for_org(organization).exists():
        SendingNumber.objects.create(
            organization=organization,
            e164=spec.sending_number or f"+1{spec.area_codes[0]}5550100",
            provider_sid="PNdemo",
        )
    if not LedgerEntry.objects.for_org(organization).exists():
        credits_adjust(
            organization=organization,
            credits=DEMO_OPENING_CREDITS,
            memo="Demo opening balance",
            reference="demo-opening-balance",
        )


def _directory_seed(organization: Organization, spec: OrgSpec) -> None:
    for name, _ in spec.locations:
        Location.objects.get_or_create(organization=organization, name=name)
    for program in spec.programs:
        Program.objects.get_or_create(organization=organization, name=program.name)
    labels = set(PhoneField.objects.for_org(organization).values_list("label", flat=True))
    for order, line in enumerate(spec.phone_fields, start=1):
        if line.label not in labels:
            phone_field_add(organization=organization, label=line.label, order=order)


def _staff_seed(
    organization: Organization, spec: OrgSpec, pool: NumberPool
) -> list[PhoneNumber | None]:
    """Add the missing staff with their cells; return each added one's cell if it opts in
    (None if it does not)."""
    added: list[PhoneNumber | None] = []
    for person in spec.staff:
        number = pool.take()  # taken even when the person exists, so family numbers stay put
        if (
            StaffMember.objects.for_org(organization)
            .filter(first_name=person.first_name, last_name=person.last_name)
            .exists()
        ):
            continue
        email = person.login or f"{person.first_name}@{spec.email_domain}".lower()
        member = StaffMember.objects.create(
            organization=organization,
            first_name=person.first_name,
            last_name=person.last_name,
            title=person.title,
            role=person.role,
            email=email,
            user=_user_ensure(person.login, person.first_name, person.last_name)
            if person.login
            else None,
        )
        phone = staff_phone_add(
            staff_member=member, raw=phone_display(number), label="Cell", text_capable=True
        )
        added.append(phone if person.opted_in else None)
    return added


def _user_ensure(
    email: str, first_name: str = "", last_name: str = "", *, superuser: bool = False
) -> AbstractBaseUser:
    """A demo login (username = email). An existing user is left alone, password included."""
    user_model = get_user_model()
    user = user_model.objects.filter(username=email).first()
    if user is None:
        user = user_model(
            username=email,
            email=email,
            first_name=first_name,
            last_name=last_name,
            is_staff=superuser,
            is_superuser=superuser,
        )
        user.set_password(DEMO_PASSWORD)
        user.save()
    return user


def _parent_login_link(organization: Organization, login: str) -> None:
    guardian = Guardian.objects.for_org(organization).filter(email=login).first()
    if guardian is not None and guardian.user_id is None:
        guardian.user = _user_ensure(login, guardian.first_name, guardian.last_name)
        guardian.save(update_fields=["user"])


@transaction.atomic
def families_insert(
    *, organization: Organization, plans: list[FamilyPlan], policy: FamilyPolicy
) -> int:
    """Write the planned families in bulk: a few INSERTs per table whatever their number."""
    if not plans:
        return 0
    locations = {loc.name: loc for loc in Location.objects.for_org(organization)}
    programs = {p.name: p for p in Program.objects.for_org(organization)}
    fields = {f.label: f for f in PhoneField.objects.for_org(organization)}
    families = Family.objects.bulk_create(
        [
            Family(
                organization=organization,
                name=plan.name,
                status=plan.status,
                location=locations[plan.location],
            )
            for plan in plans
        ],
        batch_size=BATCH,
    )
    guardians = Guardian.objects.bulk_create(
        [
            Guardian(
                organization=organization,
                family=family,
                first_name=g.first_name,
                last_name=g.last_name,
                email=g.email,
            )
            for family, plan in zip(families, plans, strict=True)
            for g in plan.guardians
        ],
        batch_size=BATCH,
    )
    of_family = iter(guardians)
    students, numbers, consents = [], [], []
    for family, plan in zip(families, plans, strict=True):
        family_guardians = [next(of_family) for _ in plan.guardians]
        students += [
            Student(
                organization=organization,
                family=family,
                first_name=s.first_name,
                last_name=family.name,
                birth_date=s.birth_date,
                program=programs[s.program],
                level=s.level,
                status=s.status,
            )
            for s in plan.students
        ]
        for n in plan.numbers:
            numbers.append(
                PhoneNumber(
                    organization=organization,
                    family=family,
                    field=fields[n.field],
                    e164=n.e164,
                    text_capable=n.text_capable,
                    sms_opt_in=n.consent == IN,
                    guardian=_holder(n.holder, plan.guardians, family_guardians),
                )
            )
            consents.append(n.consent)
    Student.objects.bulk_create(students, batch_size=BATCH)
    PhoneNumber.objects.bulk_create(numbers, batch_size=BATCH)
    _consent_evidence_insert(organization, policy, numbers, consents)
    return len(families)


def _holder(holder: str, plans: list[GuardianPlan], guardians: list[Guardian]) -> Guardian | None:
    """The guardian a Family Template line's number belongs to ("Father cell" is the
    father's), or None for a household number."""
    if holder in ("mother", "father"):
        return next((g for p, g in zip(plans, guardians, strict=True) if p.role == holder), None)
    position = {"first": 0, "second": 1}.get(holder)
    if position is None or position >= len(guardians):
        return None
    return guardians[position]


def _consent_evidence_insert(
    organization: Organization,
    policy: FamilyPolicy,
    numbers: list[PhoneNumber],
    consents: list[str],
) -> None:
    """The events consent_record would have written: an opt-in for every number that opted in,
    and for a number that later replied STOP, its keyword opt-out after it plus the OptOut."""
    opted_in = [n for n, c in zip(numbers, consents, strict=True) if c in (IN, STOPPED)]
    stopped = [n for n, c in zip(numbers, consents, strict=True) if c == STOPPED]
    events = [_event(organization, n, True, policy) for n in opted_in]
    events += [_event(organization, n, False, None) for n in stopped]
    # One INSERT keeps the list's order in ids and created_at: every STOP comes after its opt-in.
    ConsentEvent.objects.bulk_create(events, batch_size=BATCH)
    OptOut.objects.bulk_create(
        [OptOut(organization=organization, e164=n.e164) for n in stopped],
        batch_size=BATCH,
        ignore_conflicts=True,
    )


def _event(
    organization: Organization, number: PhoneNumber, opted_in: bool, policy: FamilyPolicy | None
) -> ConsentEvent:
    keyword = not opted_in
    return ConsentEvent(
        organization=organization,
        phone_number=number,
        e164=number.e164,
        channel=ConsentEvent.Channel.SMS,
        opted_in=opted_in,
        source=ConsentEvent.Source.KEYWORD if keyword else ConsentEvent.Source.IMPORT,
        actor_label=number.e164 if keyword else IMPORT_ACTOR,
        policy=policy,
        note=f"{IMPORT_NOTE}: replied STOP" if keyword else IMPORT_NOTE,
    )


# --- Logins ---

LOGINS = (
    ("admin", "admin@demo.test", "Demo Gymnastics owner: settings, credits, everything"),
    ("staff", "coach@demo.test", "Demo Gymnastics coach: lists and broadcasts"),
    ("parent", "parent@demo.test", "a Demo Gymnastics parent: the parent portal"),
    ("other org", "admin@riverside.test", "Riverside Swim School admin: sees none of the above"),
    ("operator", OPERATOR_LOGIN, "Django admin at /admin/, every organization"),
)


def demo_logins() -> list[tuple[str, str, str]]:
    existing = set(
        get_user_model()
        .objects.filter(username__in=[login for _, login, _ in LOGINS])
        .values_list("username", flat=True)
    )
    return [row for row in LOGINS if row[1] in existing]


def _counted(n: int, singular: str, plural: str) -> str:
    return f"{n:,} {ngettext(singular, plural, n)}"


def _families(n: int) -> str:
    return _counted(n, "family", "families")


class Command(BaseCommand):
    help = "Load the demo organizations (idempotent) and print the demo logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing (but print the logins) if any organization exists.",
        )
        parser.add_argument(
            "--families",
            type=int,
            default=DEMO_GYMNASTICS.families,
            help=f"How many Demo Gymnastics families (default {DEMO_GYMNASTICS.families}).",
        )

    def handle(self, *args, if_empty: bool, families: int, **options) -> None:
        if families < 1:
            raise CommandError("--families must be at least 1.")
        if if_empty and Organization.objects.exists():
            self.stdout.write("Organizations exist already, so no demo data was loaded.")
        else:
            with transaction.atomic():
                results = [
                    demo_organization_seed(spec=DEMO_GYMNASTICS, families=families),
                    demo_organization_seed(spec=RIVERSIDE_SWIM),
                ]
                _user_ensure(OPERATOR_LOGIN, "Demo", "Operator", superuser=True)
            for result in results:
                self._summary(result)
        self._logins()

    def _summary(self, result: SeedResult) -> None:
        org = result.organization
        opted_in = PhoneNumber.objects.for_org(org).filter(sms_opt_in=True).count()
        self.stdout.write(
            f"{org.name}: {_families(Family.objects.for_org(org).count())}, "
            f"{_counted(Student.objects.for_org(org).count(), 'student', 'students')}, "
            f"{StaffMember.objects.for_org(org).count()} staff, "
            f"{_counted(opted_in, 'number', 'numbers')} opted in to texts "
            f"({_families(result.families_added)} and {result.staff_added} staff added now)"
        )

    def _logins(self) -> None:
        rows = demo_logins()
        if not rows:
            self.stdout.write("This database has no demo logins.")
            return
        self.stdout.write(
            self.style.SUCCESS(f"\nDemo logins at {settings.SITE_URL}/accounts/login/")
        )
        width = max(len(login) for _, login, _ in rows)
        for role, login, what in rows:
            self.stdout.write(f"  {role:<10} {login:<{width}} / {DEMO_PASSWORD}   {what}")
