"""Read paths of the Families, Students and Staff lists, shared by the HTML pages and the API.

Each ``*_rows`` function decorates a queryset with what a row shows, in a fixed number of
queries whatever the page size: related names through joins, the students of a page in one
prefetch, and phone-number counts as correlated subqueries. ``page_rows`` applies it to one
page's ids only.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from families.models import PhoneNumber, Student

OPTED_IN = Q(sms_opt_in=True, text_capable=True)


def _number_counts(owner: str, outer: str) -> dict[str, Coalesce]:
    """``phone_count`` and ``opted_in_count`` of the numbers whose ``owner`` is ``outer``."""

    def count(condition: Q) -> Coalesce:
        numbers = (
            PhoneNumber.objects.filter(condition, **{owner: OuterRef(outer)})
            .order_by()
            .values(owner)
            .annotate(n=Count("pk"))
            .values("n")
        )
        return Coalesce(Subquery(numbers, output_field=IntegerField()), 0)

    return {"phone_count": count(Q()), "opted_in_count": count(OPTED_IN)}


def family_rows(queryset: QuerySet) -> QuerySet:
    students = Student.objects.only("id", "family_id", "first_name", "last_name").order_by(
        "first_name", "id"
    )
    return (
        queryset.select_related("location")
        .defer("notes")
        .prefetch_related(Prefetch("students", queryset=students))
        .annotate(**_number_counts("family", "pk"))
    )


def student_rows(queryset: QuerySet) -> QuerySet:
    return (
        queryset.select_related("family", "program", "family__location")
        .defer("family__notes")
        .annotate(**_number_counts("family", "family_id"))
    )


def staff_rows(queryset: QuerySet) -> QuerySet:
    return queryset.annotate(**_number_counts("staff_member", "pk"))


ROWS = {"families": family_rows, "students": student_rows, "staff": staff_rows}


def rows_for(*, kind: str, queryset: QuerySet) -> QuerySet:
    return ROWS[kind](queryset)


def page_rows(*, kind: str, queryset: QuerySet, ids: list[int]) -> list:
    """The rows of one page, decorated, in the order of ``ids``.

    A page's ids are found first (filtered, sorted, OFFSET/LIMIT, no decoration), then only
    those rows get their names and counts: with the counts in the paged query itself PostgreSQL
    computes them for every skipped row too, so page 500 cost five times page 1.
    """
    by_id = {row.pk: row for row in rows_for(kind=kind, queryset=queryset.filter(pk__in=ids))}
    return [by_id[pk] for pk in ids if pk in by_id]


def stable_order(queryset: QuerySet) -> QuerySet:
    """Sorting by a column with ties (status, role…) must still page deterministically,
    so the primary key always breaks ties."""
    ordering = list(queryset.query.order_by) or list(queryset.model._meta.ordering)
    if "pk" in ordering or "id" in ordering:
        return queryset
    return queryset.order_by(*ordering, "pk")


def selected_among(*, selected: QuerySet, ids: Iterable[int]) -> set[int]:
    """Which of ``ids`` (one page's rows) are in the selection ``selected``: one query."""
    ids = list(ids)
    if not ids:
        return set()
    return set(selected.filter(pk__in=ids).values_list("pk", flat=True))
