"""The Families, Students and Staff lists, and the selection staff build on them.

The selection lives in the session, one per kind (see ``families.selection``). The lists post
to ``selection_update`` as rows are ticked; with JavaScript the answer is the bottom bar alone,
without it a redirect back to the list, so "select all matching" and "clear" work either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from families.list_selectors import page_rows, selected_among, stable_order
from families.selection import (
    Selection,
    SelectionError,
    filter_query_string,
    kind_filterset,
    kind_queryset,
    left_out_of_matching,
    selection_from_session,
    selection_queryset,
    selection_to_session,
)
from smsvoice.http import safe_next
from smsvoice.tenancy import staff_required

PAGE_SIZE = 50


@dataclass(frozen=True)
class ListPage:
    kind: str
    title: str
    url_name: str
    template: str
    singular: str
    plural: str
    # (header, sort key or "" when the column does not sort)
    columns: tuple[tuple[str, str], ...]

    @property
    def url(self) -> str:
        return reverse(self.url_name)

    def noun(self, count: int) -> str:
        return self.singular if count == 1 else self.plural


LISTS = {
    "families": ListPage(
        kind="families",
        url_name="families:family_list",
        title="Families",
        template="families/family_list.html",
        singular="family",
        plural="families",
        columns=(
            ("Name", "name"),
            ("Status", "status"),
            ("Location", "location"),
            ("Students", ""),
            ("Phone numbers", ""),
        ),
    ),
    "students": ListPage(
        kind="students",
        url_name="families:student_list",
        title="Students",
        template="families/student_list.html",
        singular="student",
        plural="students",
        columns=(
            ("Name", "name"),
            ("Family", "family"),
            ("Program", "program"),
            ("Level", "level"),
            ("Status", "status"),
            ("Phone numbers", ""),
        ),
    ),
    "staff": ListPage(
        kind="staff",
        url_name="families:staff_list",
        title="Staff",
        template="families/staff_list.html",
        singular="staff member",
        plural="staff members",
        columns=(("Name", "name"), ("Title", "title"), ("Role", "role"), ("Phone numbers", "")),
    ),
}


@staff_required
@require_GET
def family_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, LISTS["families"])


@staff_required
@require_GET
def student_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, LISTS["students"])


@staff_required
@require_GET
def staff_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, LISTS["staff"])


def _list_page(request: HttpRequest, listing: ListPage) -> HttpResponse:
    organization = request.organization
    filterset = kind_filterset(organization=organization, kind=listing.kind, data=request.GET)
    # An invalid filter shows no rows; the form says what to fix.
    valid = filterset.is_valid()
    matching = stable_order(filterset.qs) if valid else filterset.queryset.none()
    page = Paginator(matching.values_list("pk", flat=True), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    page.object_list = page_rows(
        kind=listing.kind, queryset=filterset.queryset, ids=list(page.object_list)
    )
    filter_query = _filter_query(request.GET, filterset)
    selection = selection_from_session(request.session, kind=listing.kind)
    selected_ids, selected_count = _page_selection(request, selection, page)
    context = {
        "list": listing,
        "filterset": filterset,
        "filter_valid": valid,
        "filtered": bool(filter_query),
        "filter_query": filter_query,
        "page_obj": page,
        "total_noun": listing.noun(page.paginator.count),
        "columns": _columns(listing, request.GET.get("sort", "")),
        "selected_ids": selected_ids,
        "page_all_selected": bool(page.object_list) and len(selected_ids) == len(page),
        **_bar_context(request, listing, selected_count, request.get_full_path()),
        **_summary_context(
            request,
            listing,
            selection_from_session(request.session, kind=listing.kind),
            filter_query=filter_query,
            matching_count=page.paginator.count if valid else 0,
        ),
    }
    return render(request, listing.template, context)


def _filter_query(query: QueryDict, filterset) -> str:
    """The page's filter as a canonical query string: known filters only, no page or sort."""
    known = QueryDict(mutable=True)
    for key, values in query.lists():
        if key in filterset.filters:
            known.setlist(key, values)
    return filter_query_string(known)


def _page_selection(request: HttpRequest, selection: Selection, page: Page) -> tuple[set[int], int]:
    """Which rows of ``page`` are selected, and how many are selected in all."""
    if selection.is_empty:
        return set(), 0
    try:
        selected = selection_queryset(organization=request.organization, selection=selection)
        ids = selected_among(selected=selected, ids=[row.pk for row in page.object_list])
        return ids, selected.count()
    except SelectionError:
        # Its filter no longer applies (a program was deleted, say): start again, and say so.
        selection_to_session(request.session, selection=Selection(kind=selection.kind))
        messages.warning(request, "Your selection no longer matched anything, so it was cleared.")
        return set(), 0


def _columns(listing: ListPage, current_sort: str) -> list[dict[str, str]]:
    columns = []
    for label, key in listing.columns:
        column = {"label": label, "sort": key, "next": key, "direction": ""}
        if key and current_sort == key:
            column.update(next=f"-{key}", direction="ascending")
        elif key and current_sort == f"-{key}":
            column.update(direction="descending")
        columns.append(column)
    return columns


def _bar_context(
    request: HttpRequest, listing: ListPage, selected_count: int, next_url: str
) -> dict:
    return {
        "list": listing,
        "selected_count": selected_count,
        "selected_noun": listing.noun(selected_count),
        "next_url": next_url,
    }


def _summary_context(
    request: HttpRequest,
    listing: ListPage,
    selection: Selection,
    *,
    filter_query: str,
    matching_count: int,
) -> dict:
    """The list's summary of the selection against the page's filter: "All 300 matching
    families are selected", "… except 1", or the offer to select them all."""
    try:
        left_out = left_out_of_matching(
            organization=request.organization,
            selection=selection,
            filter_query=filter_query,
            matching_count=matching_count,
        )
    except SelectionError:
        left_out = None
    return {
        "filter_query": filter_query,
        "matching_count": matching_count,
        "matching_noun": listing.noun(matching_count),
        "left_out": left_out,
    }


def _page_summary(request: HttpRequest, listing: ListPage, selection: Selection, next_url: str):
    """The summary of the list page ``next_url`` after a tick, or None when the tick cannot
    change it: only an "all matching" selection of that page's filter is summarised there."""
    query = QueryDict(urlsplit(next_url).query)
    filterset = kind_filterset(organization=request.organization, kind=listing.kind, data=query)
    if selection.filter_query is None or not filterset.is_valid():
        return None
    filter_query = _filter_query(query, filterset)
    if filter_query != selection.filter_query:
        return None
    return _summary_context(
        request,
        listing,
        selection,
        filter_query=filter_query,
        matching_count=filterset.qs.count(),
    )


# --- The selection: tick, tick a page, everything matching, clear. ---


@staff_required
@require_POST
def selection_update(request: HttpRequest, kind: str) -> HttpResponse:
    listing = _listing(kind)
    next_url = safe_next(request, listing.url)
    selection = selection_from_session(request.session, kind=kind)
    try:
        selection = _apply(request, selection, request.POST.get("action", ""))
    except SelectionError as exc:
        if _wants_fragment(request):
            return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
        messages.error(request, str(exc))
        return redirect(next_url)
    selection_to_session(request.session, selection=selection)
    if not _wants_fragment(request):
        return redirect(next_url)
    # The new bottom bar, and the list's summary when the tick changes it: the page swaps in
    # each element of the answer that has an id it knows.
    context = _bar_context(request, listing, _count(request, selection), next_url)
    summary = _page_summary(request, listing, selection, next_url)
    context.update(summary or {}, with_summary=summary is not None)
    return render(request, "families/_selection_update.html", context)


def _apply(request: HttpRequest, selection: Selection, action: str) -> Selection:
    kind = selection.kind
    if action in ("toggle", "page"):
        selected = _flag(request.POST.get("selected", ""))
        ids = _own_ids(request, kind, request.POST.getlist("ids"))
        return selection.with_ids(ids, selected=selected)
    if action == "all-matching":
        query = QueryDict(request.POST.get("query", ""))
        filterset = kind_filterset(organization=request.organization, kind=kind, data=query)
        if not filterset.is_valid():
            raise SelectionError(f"Fix the filter first: {filterset.errors.as_text()}")
        return selection.with_filter(QueryDict(_filter_query(query, filterset)))
    if action == "clear":
        return Selection(kind=kind)
    raise SelectionError(f"Unknown selection action {action!r}.")


def _own_ids(request: HttpRequest, kind: str, raw: list[str]) -> set[int]:
    """The posted ids, all of which must be this organization's rows (another's → 404)."""
    if not raw:
        raise SelectionError("Say which rows to select.")
    if not all(value.strip().isdigit() for value in raw):
        raise SelectionError("Row ids must be whole numbers.")
    ids = {int(value) for value in raw}
    if len(ids) > PAGE_SIZE:
        raise SelectionError(f"Select at most {PAGE_SIZE} rows at a time.")
    found = set(
        kind_queryset(organization=request.organization, kind=kind)
        .filter(pk__in=ids)
        .values_list("pk", flat=True)
    )
    if found != ids:
        raise Http404("No such row.")
    return ids


def _flag(value: str) -> bool:
    if value in ("1", "true", "on"):
        return True
    if value in ("0", "false", "off"):
        return False
    raise SelectionError("Say whether the rows are selected (selected=1) or not (selected=0).")


def _count(request: HttpRequest, selection: Selection) -> int:
    if selection.is_empty:
        return 0
    try:
        return selection_queryset(organization=request.organization, selection=selection).count()
    except SelectionError:
        return 0


def _listing(kind: str) -> ListPage:
    try:
        return LISTS[kind]
    except KeyError:
        raise Http404("No such list.") from None


def _wants_fragment(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"
