"""The selection: which families, students or staff a broadcast goes to.

One well-defined object, kept in the staff member's session while they page and filter and
sent as JSON to the API: a kind, explicit ids, optionally "everything matching this filter"
(the filter's query string, frozen when it was chosen), minus explicit exclusions.

    members = (matching(filter) ∪ ids) − excluded

The SMS and voice broadcasts turn ``selection_queryset`` into recipients.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from django.db.models import Q, QuerySet
from django.http import QueryDict
from django_filters import OrderingFilter
from django_filters.constants import EMPTY_VALUES

from families.filters import FamilyFilter, StaffFilter, StudentFilter
from families.models import Family, Student
from smsvoice.errors import BadInput
from smsvoice.models import Organization, StaffMember

KINDS: dict[str, tuple[type, type]] = {
    "families": (Family, FamilyFilter),
    "students": (Student, StudentFilter),
    "staff": (StaffMember, StaffFilter),
}
# Paging and sorting never change who matches.
_NOT_FILTERS = {"page", "sort"}


class SelectionError(BadInput):
    """A selection (or its filter) that cannot be used; the API answers it with a 400."""


@dataclass(frozen=True)
class Selection:
    kind: str
    ids: frozenset[int] = field(default_factory=frozenset)
    filter_query: str | None = None
    excluded: frozenset[int] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SelectionError(f"Unknown selection kind {self.kind!r}: use {', '.join(KINDS)}.")

    @property
    def is_empty(self) -> bool:
        return not self.ids and self.filter_query is None

    def with_ids(self, ids: set[int], *, selected: bool) -> Selection:
        if selected:
            return replace(self, ids=self.ids | ids, excluded=self.excluded - ids)
        excluded = self.excluded | ids if self.filter_query is not None else self.excluded
        return replace(self, ids=self.ids - ids, excluded=excluded)

    def with_filter(self, query: QueryDict | dict[str, Any]) -> Selection:
        return replace(
            self, filter_query=filter_query_string(query), ids=frozenset(), excluded=frozenset()
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "ids": sorted(self.ids),
            "filter": dict(QueryDict(self.filter_query).lists())
            if self.filter_query is not None
            else None,
            "exclude": sorted(self.excluded),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Selection:
        """Build from the API or session form; raise SelectionError with a readable message."""
        if not isinstance(data, dict):
            raise SelectionError("The selection must be an object.")
        kind = str(data.get("kind", ""))
        cls(kind=kind)  # an unknown kind is the first thing to report
        raw_filter = data.get("filter")
        if raw_filter is not None and not isinstance(raw_filter, dict):
            raise SelectionError("The selection's filter must be an object of filter values.")
        if raw_filter:
            _check_filter_names(kind, raw_filter)
            _check_filter_values(raw_filter)
        return cls(
            kind=kind,
            ids=frozenset(_int_list(data.get("ids", []), "ids")),
            filter_query=filter_query_string(raw_filter) if raw_filter is not None else None,
            excluded=frozenset(_int_list(data.get("exclude", []), "exclude")),
        )


def filter_query_string(query: QueryDict | dict[str, Any]) -> str:
    qd = QueryDict(mutable=True)
    items = query.lists() if isinstance(query, QueryDict) else query.items()
    for key, values in sorted(items):
        if key in _NOT_FILTERS:
            continue
        values = values if isinstance(values, list | tuple) else [values]
        kept = [str(v) for v in values if v is not None and str(v) != ""]
        if kept:
            qd.setlist(key, kept)
    return qd.urlencode()


def _check_filter_names(kind: str, raw_filter: dict[str, Any]) -> None:
    known = set(KINDS[kind][1].base_filters) - _NOT_FILTERS
    unknown = sorted(set(raw_filter) - known - _NOT_FILTERS)
    if unknown:
        raise SelectionError(
            f"Unknown filter {', '.join(map(repr, unknown))} for {kind}: "
            f"use {', '.join(sorted(known))}."
        )


def _check_filter_values(raw_filter: dict[str, Any]) -> None:
    """A filter value is a string, a number or a list of them, as in a query string: anything
    else (an object, a list of lists, true) has no meaning as a filter."""
    for name, value in raw_filter.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            scalar = isinstance(item, str | int | float) and not isinstance(item, bool)
            if item is not None and not scalar:
                raise SelectionError(
                    f"The selection's filter {name!r} must be a value or a list of values, "
                    f"not {item!r}."
                )


def _int_list(values: Any, name: str) -> list[int]:
    if not isinstance(values, list | tuple):
        raise SelectionError(f"The selection's {name} must be a list of ids.")
    return [_whole_number(v, name) for v in values]


def _whole_number(value: Any, name: str) -> int:
    # bool is an int in Python and 2.5 would silently become 2: refuse both.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise SelectionError(f"The selection's {name} must be whole-number ids, not {value!r}.")


def kind_queryset(*, organization: Organization, kind: str) -> QuerySet:
    model, _ = KINDS[kind]
    return model.objects.for_org(organization)


def kind_filterset(*, organization: Organization, kind: str, data: QueryDict | None):
    _, filterset_class = KINDS[kind]
    return filterset_class(
        data,
        queryset=kind_queryset(organization=organization, kind=kind),
        organization=organization,
    )


def selection_queryset(*, organization: Organization, selection: Selection) -> QuerySet:
    """The selected rows of ``organization``: ids of another organization simply match nothing."""
    base = kind_queryset(organization=organization, kind=selection.kind)
    if selection.is_empty:
        return base.none()
    members = Q(pk__in=list(selection.ids)) if selection.ids else Q(pk__in=[])
    if selection.filter_query is not None:
        matching = kind_filterset(
            organization=organization,
            kind=selection.kind,
            data=QueryDict(selection.filter_query),
        )
        if not matching.is_valid():
            problems = matching.errors.as_text()
            raise SelectionError(f"The selection's filter is not valid: {problems}")
        if _narrows(matching):
            members |= Q(pk__in=matching.qs.order_by().values("pk"))
        else:  # "all" of the kind: the rows themselves, not a subquery of every id
            members = Q()
    queryset = base.filter(members)
    if selection.excluded:
        queryset = queryset.exclude(pk__in=list(selection.excluded))
    return queryset


def _narrows(matching) -> bool:
    """Whether a valid filterset leaves any row out: django-filter skips a filter whose value
    is empty, and sorting never leaves one out, so with neither it matches every row."""
    return any(
        value not in EMPTY_VALUES and not isinstance(matching.filters[name], OrderingFilter)
        for name, value in matching.form.cleaned_data.items()
    )


def selection_count(*, organization: Organization, selection: Selection) -> int:
    return selection_queryset(organization=organization, selection=selection).count()


def left_out_of_matching(
    *, organization: Organization, selection: Selection, filter_query: str, matching_count: int
) -> int | None:
    """How many of the rows matching ``filter_query`` were unticked after "select all matching"
    chose that filter: 0 when none were, None when the selection is not "all matching" it (or
    nothing of it is left), so the list can say "All 300 … are selected except 1"."""
    if selection.filter_query is None or selection.filter_query != filter_query:
        return None
    if not selection.excluded:
        return 0 if matching_count else None
    matching = kind_filterset(
        organization=organization, kind=selection.kind, data=QueryDict(filter_query)
    )
    if not matching.is_valid():
        return None
    left_out = matching.qs.filter(pk__in=list(selection.excluded)).count()
    return left_out if left_out < matching_count else None


# --- The staff member's working selection, one per kind, kept in the session. ---


def _session_key(kind: str) -> str:
    return f"selection:{kind}"


def selection_from_session(session, *, kind: str) -> Selection:
    """The selection the staff member is building for ``kind`` (empty if none or unreadable)."""
    empty = Selection(kind=kind)
    data = session.get(_session_key(kind))
    if not data:
        return empty
    try:
        selection = Selection.from_dict(data)
    except SelectionError:
        return empty  # written by an older version of the filters: start again
    return selection if selection.kind == kind else empty


def selection_to_session(session, *, selection: Selection) -> None:
    if selection.is_empty:
        session.pop(_session_key(selection.kind), None)
    else:
        session[_session_key(selection.kind)] = selection.to_dict()
