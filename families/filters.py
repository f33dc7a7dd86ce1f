"""The filters of the Families, Students and Staff lists (django-filter).

The same filtersets serve the HTML lists, the API and the "select all matching" selection,
so a selection made on a page means exactly what the page showed. Every filter is an indexed
column or an EXISTS subquery, and the families' search a UNION of trigram-indexed lookups, so
counts stay one query on large lists.
"""

from __future__ import annotations

import datetime
from functools import partial

import django_filters as filters
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from families.models import Family, Guardian, Location, PhoneNumber, Program, Student
from smsvoice.models import Organization, StaffMember

YES_NO = (("yes", "Yes"), ("no", "No"))
MAX_AGE = 120


def _opted_in_numbers(**owner):
    return PhoneNumber.objects.filter(sms_opt_in=True, text_capable=True, **owner)


def _filter_exists(queryset: QuerySet, subquery: QuerySet, value: str) -> QuerySet:
    if value == "yes":
        return queryset.filter(Exists(subquery))
    if value == "no":
        return queryset.exclude(Exists(subquery))
    return queryset


def _families_matching_text(organization: Organization, value: str) -> QuerySet:
    """Ids of the families whose name, or a student's or guardian's name or email, contains
    ``value`` (any case), or whose number contains its digits (4 or more).

    One UNION of per-table lookups rather than an OR of EXISTS over every family: each part
    can use its trigram index (migration families 0004, PostgreSQL), so a search reads the
    matching rows only, not all 50,000 families (bench/list_pages.py: search 'garcia')."""
    by_family = Family.objects.for_org(organization).filter(name__icontains=value)
    by_student = (
        Student.objects.for_org(organization)
        .filter(Q(first_name__icontains=value) | Q(last_name__icontains=value))
        .values("family_id")
    )
    by_guardian = (
        Guardian.objects.for_org(organization)
        .filter(
            Q(first_name__icontains=value)
            | Q(last_name__icontains=value)
            | Q(email__icontains=value)
        )
        .values("family_id")
    )
    parts = [by_student, by_guardian]
    digits = "".join(ch for ch in value if ch.isdigit())
    if len(digits) >= 4:
        parts.append(
            PhoneNumber.objects.for_org(organization)
            .filter(family__isnull=False, e164__contains=digits)
            .values("family_id")
        )
    # Unordered: the models' default orderings would sort each part for nothing.
    return by_family.values("pk").order_by().union(*(part.order_by() for part in parts))


class OrgFilterSet(filters.FilterSet):
    """A filterset whose choice lists come from one organization only."""

    def __init__(self, data=None, queryset=None, *, organization: Organization, **kwargs):
        super().__init__(data, queryset, **kwargs)
        self.organization = organization
        for name in ("location", "program"):
            if name in self.filters:
                model = Location if name == "location" else Program
                _rebuild_field(self.filters[name]).queryset = model.objects.for_org(organization)
        if "level" in self.filters:
            # A callable, so the query runs only when the form is shown or a level is chosen:
            # a selection count stays one query.
            level = _rebuild_field(self.filters["level"])
            level.extra["choices"] = partial(_level_choices, organization)


def _rebuild_field(filter_: filters.Filter) -> filters.Filter:
    """django-filter caches a filter's form field, and the instance's filters are copies of the
    class's: once anything built the class filter's field (drf-spectacular does, for the schema),
    every copy would keep that field and ignore the organization's choices set here."""
    filter_.__dict__.pop("_field", None)
    return filter_


class FamilyFilter(OrgFilterSet):
    q = filters.CharFilter(method="filter_q", label="Search")
    status = filters.ChoiceFilter(choices=Family.Status.choices, empty_label="Any status")
    location = filters.ModelChoiceFilter(
        queryset=Location.objects.none(), empty_label="Any location"
    )
    # Filters by a method need a label: the family has no field of that name to take it from.
    program = filters.ModelChoiceFilter(
        queryset=Program.objects.none(),
        method="filter_program",
        label="Program",
        empty_label="Any program",
    )
    level = filters.ChoiceFilter(
        choices=(), method="filter_level", label="Level", empty_label="Any level"
    )
    opted_in = filters.ChoiceFilter(
        choices=YES_NO, method="filter_opted_in", label="Texting opted in", empty_label="Either"
    )
    has_phone = filters.ChoiceFilter(
        choices=YES_NO, method="filter_has_phone", label="Has a phone number", empty_label="Either"
    )
    sort = filters.OrderingFilter(
        fields=(
            ("name", "name"),
            ("status", "status"),
            ("location__name", "location"),
            ("created_at", "created"),
        ),
        label="Sort",
    )

    class Meta:
        model = Family
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(pk__in=_families_matching_text(self.organization, value))

    @extend_schema_field(OpenApiTypes.INT)  # a program id; the API schema cannot guess it
    def filter_program(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(Exists(Student.objects.filter(family=OuterRef("pk"), program=value)))

    @extend_schema_field(OpenApiTypes.STR)
    def filter_level(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(Exists(Student.objects.filter(family=OuterRef("pk"), level=value)))

    def filter_opted_in(self, queryset, name, value):
        return _filter_exists(queryset, _opted_in_numbers(family=OuterRef("pk")), value)

    def filter_has_phone(self, queryset, name, value):
        return _filter_exists(queryset, PhoneNumber.objects.filter(family=OuterRef("pk")), value)


class StudentFilter(OrgFilterSet):
    q = filters.CharFilter(method="filter_q", label="Search")
    status = filters.ChoiceFilter(choices=Student.Status.choices, empty_label="Any status")
    location = filters.ModelChoiceFilter(
        queryset=Location.objects.none(), field_name="family__location", empty_label="Any location"
    )
    program = filters.ModelChoiceFilter(queryset=Program.objects.none(), empty_label="Any program")
    level = filters.ChoiceFilter(choices=(), empty_label="Any level")
    # Bounded: a year far in the past cannot be built as a date.
    age_min = filters.NumberFilter(
        method="filter_age_min", label="Age from", min_value=0, max_value=MAX_AGE
    )
    age_max = filters.NumberFilter(
        method="filter_age_max", label="Age to", min_value=0, max_value=MAX_AGE
    )
    opted_in = filters.ChoiceFilter(
        choices=YES_NO, method="filter_opted_in", label="Texting opted in", empty_label="Either"
    )
    has_phone = filters.ChoiceFilter(
        choices=YES_NO, method="filter_has_phone", label="Has a phone number", empty_label="Either"
    )
    sort = filters.OrderingFilter(
        fields=(
            ("last_name", "name"),
            ("family__name", "family"),
            ("program__name", "program"),
            ("level", "level"),
            ("status", "status"),
            ("birth_date", "birth_date"),
        ),
        label="Sort",
    )

    class Meta:
        model = Student
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(first_name__icontains=value)
            | Q(last_name__icontains=value)
            | Q(family__name__icontains=value)
        )

    def filter_age_min(self, queryset, name, value):
        # Age N or more: born on or before today's date N years ago.
        return queryset.filter(birth_date__lte=_years_ago(int(value)))

    def filter_age_max(self, queryset, name, value):
        # Age N or less: born after today's date N+1 years ago.
        return queryset.filter(birth_date__gt=_years_ago(int(value) + 1))

    def filter_opted_in(self, queryset, name, value):
        return _filter_exists(queryset, _opted_in_numbers(family=OuterRef("family_id")), value)

    def filter_has_phone(self, queryset, name, value):
        return _filter_exists(
            queryset, PhoneNumber.objects.filter(family=OuterRef("family_id")), value
        )


class StaffFilter(OrgFilterSet):
    q = filters.CharFilter(method="filter_q", label="Search")
    role = filters.ChoiceFilter(choices=StaffMember.Role.choices, empty_label="Any role")
    is_active = filters.BooleanFilter(label="Active")
    opted_in = filters.ChoiceFilter(
        choices=YES_NO, method="filter_opted_in", label="Texting opted in", empty_label="Either"
    )
    has_phone = filters.ChoiceFilter(
        choices=YES_NO, method="filter_has_phone", label="Has a phone number", empty_label="Either"
    )
    sort = filters.OrderingFilter(
        fields=(("last_name", "name"), ("title", "title"), ("role", "role")), label="Sort"
    )

    class Meta:
        model = StaffMember
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(first_name__icontains=value)
            | Q(last_name__icontains=value)
            | Q(title__icontains=value)
            | Q(email__icontains=value)
        )

    def filter_opted_in(self, queryset, name, value):
        return _filter_exists(queryset, _opted_in_numbers(staff_member=OuterRef("pk")), value)

    def filter_has_phone(self, queryset, name, value):
        return _filter_exists(
            queryset, PhoneNumber.objects.filter(staff_member=OuterRef("pk")), value
        )


def _level_choices(organization: Organization) -> list[tuple[str, str]]:
    levels = (
        Student.objects.for_org(organization)
        .exclude(level="")
        .values_list("level", flat=True)
        .distinct()
        .order_by("level")
    )
    return [(level, level) for level in levels]


def _years_ago(years: int) -> datetime.date:
    today = timezone.localdate()
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February in a year that has none
        return today.replace(year=today.year - years, day=28)
