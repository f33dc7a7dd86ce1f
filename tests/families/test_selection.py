"""The selection: the object, its counts, and the session endpoints the lists post to."""

import pytest
from django.http import QueryDict
from django.urls import reverse

from families.models import Family, Student
from families.selection import (
    Selection,
    SelectionError,
    selection_count,
    selection_from_session,
    selection_queryset,
    selection_to_session,
)
from tests.factories import FamilyFactory, ProgramFactory, StaffMemberFactory, StudentFactory

pytestmark = pytest.mark.django_db

FAMILIES = reverse("families:family_list")
SELECT_FAMILIES = reverse("families:selection", args=["families"])
FRAGMENT = {"HTTP_HX_REQUEST": "true"}


def _swimmers(org, count, program=None):
    program = program or ProgramFactory(organization=org, name="Swim")
    families = FamilyFactory.create_batch(count, organization=org)
    for family in families:
        StudentFactory(family=family, program=program)
    return program, families


def _selection(client, kind="families") -> Selection:
    return selection_from_session(client.session, kind=kind)


def _count(org, **kwargs) -> int:
    return selection_count(organization=org, selection=Selection(**kwargs))


# --- The Selection object ---


def test_members_are_the_matching_rows_plus_ids_minus_exclusions(org):
    program, swimmers = _swimmers(org, 4)
    others = FamilyFactory.create_batch(2, organization=org)
    selection = Selection(
        kind="families",
        ids=frozenset({others[0].pk}),
        filter_query=f"program={program.pk}",
        excluded=frozenset({swimmers[0].pk}),
    )
    members = set(selection_queryset(organization=org, selection=selection))
    assert members == {*swimmers[1:], others[0]}


def test_a_selection_with_no_filter_selects_all_rows(org):
    FamilyFactory.create_batch(3, organization=org)
    assert _count(org, kind="families", filter_query="") == 3


def test_all_matching_a_filter_that_narrows_nothing_reads_the_rows_without_a_subquery(
    org, other_org
):
    families = FamilyFactory.create_batch(3, organization=org)
    FamilyFactory(organization=other_org)
    selection = Selection(
        kind="families", filter_query="q=&status=", excluded=frozenset({families[0].pk})
    )
    queryset = selection_queryset(organization=org, selection=selection)
    assert set(queryset) == set(families[1:])
    # A broadcast to every family joins this to their numbers: no IN over every id.
    assert "SELECT" not in str(queryset.query).split("WHERE", 1)[1]
    narrowed = Selection(kind="families", filter_query="status=inactive")
    assert "SELECT" in str(selection_queryset(organization=org, selection=narrowed).query)


def test_an_empty_selection_counts_nothing(org):
    FamilyFactory.create_batch(3, organization=org)
    assert Selection(kind="families").is_empty
    assert _count(org, kind="families") == 0


def test_unticking_a_row_of_an_all_matching_selection_excludes_it(org):
    program, swimmers = _swimmers(org, 3)
    selection = Selection(kind="families").with_filter({"program": str(program.pk)})
    selection = selection.with_ids({swimmers[0].pk}, selected=False)
    assert selection.excluded == {swimmers[0].pk}
    assert selection_count(organization=org, selection=selection) == 2
    selection = selection.with_ids({swimmers[0].pk}, selected=True)
    assert selection_count(organization=org, selection=selection) == 3


def test_unticking_a_row_without_a_filter_just_drops_it():
    selection = Selection(kind="families", ids=frozenset({1, 2})).with_ids({1}, selected=False)
    assert selection.ids == {2} and selection.excluded == frozenset()


def test_choosing_all_matching_forgets_paging_and_sorting():
    query = QueryDict("program=3&page=4&sort=-name&q=")
    assert Selection(kind="families").with_filter(query).filter_query == "program=3"


def test_another_organizations_ids_are_never_counted(org, other_org):
    ours = FamilyFactory(organization=org)
    theirs = FamilyFactory(organization=other_org)
    assert _count(org, kind="families", ids=frozenset({ours.pk, theirs.pk})) == 1


def test_a_filter_naming_another_organizations_program_is_refused(org, other_org):
    theirs = ProgramFactory(organization=other_org)
    with pytest.raises(SelectionError, match="filter is not valid"):
        _count(org, kind="families", filter_query=f"program={theirs.pk}")


def test_counting_all_matching_is_one_query(org, django_assert_num_queries):
    _swimmers(org, 5)
    selection = Selection(
        kind="families",
        ids=frozenset({1, 2}),
        filter_query="status=active&opted_in=no&has_phone=no&q=Family",
        excluded=frozenset({3}),
    )
    with django_assert_num_queries(1):
        assert selection_count(organization=org, selection=selection) == 5


def test_the_dict_form_round_trips(org):
    selection = Selection(
        kind="students",
        ids=frozenset({3, 1}),
        filter_query="level=Level+1&status=active",
        excluded=frozenset({2}),
    )
    data = selection.to_dict()
    assert data == {
        "kind": "students",
        "ids": [1, 3],
        "filter": {"level": ["Level 1"], "status": ["active"]},
        "exclude": [2],
    }
    assert Selection.from_dict(data) == selection


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "pets"}, "Unknown selection kind 'pets'"),
        ({"kind": "families", "ids": [1, "x"]}, "whole-number ids"),
        ({"kind": "families", "ids": [1.5]}, "whole-number ids"),
        ({"kind": "families", "ids": [True]}, "whole-number ids"),
        ({"kind": "families", "ids": 7}, "must be a list"),
        ({"kind": "families", "exclude": ["3a"]}, "exclude must be whole-number ids"),
        ({"kind": "families", "filter": "program=1"}, "filter must be an object"),
        ({"kind": "families", "filter": {"colour": "red"}}, "Unknown filter 'colour'"),
        ({"kind": "families", "filter": {"program": {"id": 3}}}, "'program' must be a value"),
        ({"kind": "families", "filter": {"level": ["a", ["b"]]}}, "'level' must be a value"),
        ({"kind": "families", "filter": {"status": True}}, "'status' must be a value"),
        ("families", "must be an object"),
    ],
)
def test_a_malformed_selection_is_refused_with_a_clear_message(data, message):
    with pytest.raises(SelectionError, match=message):
        Selection.from_dict(data)


def test_the_session_keeps_one_selection_per_kind(client):
    session = client.session
    selection_to_session(session, selection=Selection(kind="families", ids=frozenset({4})))
    assert selection_from_session(session, kind="families").ids == {4}
    assert selection_from_session(session, kind="students").is_empty
    selection_to_session(session, selection=Selection(kind="families"))
    assert "selection:families" not in session


def test_an_unreadable_stored_selection_starts_again_empty(client):
    session = client.session
    session["selection:families"] = {"kind": "families", "ids": ["nope"]}
    assert selection_from_session(session, kind="families").is_empty


# --- The endpoints the list pages post to ---


def test_ticking_a_row_selects_it_and_answers_with_the_bottom_bar(staff_client, org):
    family = FamilyFactory(organization=org)
    response = staff_client.post(
        SELECT_FAMILIES, {"action": "toggle", "ids": family.pk, "selected": "1"}, **FRAGMENT
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="bottombar"' in html and "<strong>1</strong> family selected" in html
    assert "<html" not in html
    assert _selection(staff_client).ids == {family.pk}


def test_unticking_the_last_row_hides_the_bar(staff_client, org):
    family = FamilyFactory(organization=org)
    data = {"action": "toggle", "ids": family.pk}
    staff_client.post(SELECT_FAMILIES, {**data, "selected": "1"}, **FRAGMENT)
    response = staff_client.post(SELECT_FAMILIES, {**data, "selected": "0"}, **FRAGMENT)
    assert b" hidden>" in response.content
    assert _selection(staff_client).is_empty


def test_ticking_the_page_selects_every_row_given(staff_client, org):
    families = FamilyFactory.create_batch(3, organization=org)
    ids = [f.pk for f in families]
    staff_client.post(SELECT_FAMILIES, {"action": "page", "ids": ids, "selected": "1"}, **FRAGMENT)
    assert _selection(staff_client).ids == set(ids)
    staff_client.post(
        SELECT_FAMILIES, {"action": "page", "ids": ids[:2], "selected": "0"}, **FRAGMENT
    )
    assert _selection(staff_client).ids == {ids[2]}


def test_select_all_matching_keeps_the_filter_and_redirects_back(staff_client, org):
    program, _ = _swimmers(org, 60)
    FamilyFactory.create_batch(5, organization=org)
    back = f"{FAMILIES}?program={program.pk}&page=2"
    response = staff_client.post(
        SELECT_FAMILIES,
        {"action": "all-matching", "query": f"program={program.pk}&sort=name", "next": back},
    )
    assert response.status_code == 302 and response["Location"] == back
    assert _selection(staff_client).filter_query == f"program={program.pk}"
    page = staff_client.get(back)
    assert "<strong>60</strong> families selected" in page.content.decode()


def test_the_selection_survives_paging_and_filter_changes(staff_client, org):
    program, swimmers = _swimmers(org, 55)
    staff_client.post(SELECT_FAMILIES, {"action": "all-matching", "query": f"program={program.pk}"})
    for query in ({"page": 2, "program": program.pk}, {"status": "inactive"}, {}):
        response = staff_client.get(FAMILIES, query)
        assert "<strong>55</strong> families selected" in response.content.decode()
    page_two = staff_client.get(FAMILIES, {"page": 2, "program": program.pk})
    assert page_two.context["selected_ids"] == {f.pk for f in swimmers[50:]}


def test_unticking_a_row_after_select_all_matching_excludes_it(staff_client, org):
    program, swimmers = _swimmers(org, 4)
    staff_client.post(SELECT_FAMILIES, {"action": "all-matching", "query": f"program={program.pk}"})
    response = staff_client.post(
        SELECT_FAMILIES,
        {"action": "toggle", "ids": swimmers[0].pk, "selected": "0"},
        **FRAGMENT,
    )
    assert "<strong>3</strong> families selected" in response.content.decode()
    assert _selection(staff_client).excluded == {swimmers[0].pk}


def test_clear_empties_the_selection(staff_client, org):
    family = FamilyFactory(organization=org)
    staff_client.post(SELECT_FAMILIES, {"action": "toggle", "ids": family.pk, "selected": "1"})
    response = staff_client.post(SELECT_FAMILIES, {"action": "clear", "next": FAMILIES})
    assert response["Location"] == FAMILIES
    assert _selection(staff_client).is_empty


def test_the_students_and_staff_lists_keep_their_own_selections(staff_client, org):
    student = StudentFactory(family=FamilyFactory(organization=org))
    coach = StaffMemberFactory(organization=org)
    for kind, pk in (("students", student.pk), ("staff", coach.pk)):
        staff_client.post(
            reverse("families:selection", args=[kind]),
            {"action": "toggle", "ids": pk, "selected": "1"},
        )
    assert _selection(staff_client, "students").ids == {student.pk}
    assert _selection(staff_client, "staff").ids == {coach.pk}
    assert _selection(staff_client, "families").is_empty
    page = staff_client.get(reverse("families:staff_list")).content.decode()
    assert "<strong>1</strong> staff member selected" in page


def test_another_organizations_row_cannot_be_selected(staff_client, org, other_org):
    ours = FamilyFactory(organization=org)
    theirs = FamilyFactory(organization=other_org)
    response = staff_client.post(
        SELECT_FAMILIES,
        {"action": "page", "ids": [ours.pk, theirs.pk], "selected": "1"},
        **FRAGMENT,
    )
    assert response.status_code == 404
    assert _selection(staff_client).is_empty


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "explode"}, "Unknown selection action"),
        ({"action": "toggle", "selected": "1"}, "Say which rows"),
        ({"action": "toggle", "ids": "abc", "selected": "1"}, "whole numbers"),
        ({"action": "toggle", "ids": "1", "selected": "maybe"}, "selected=1"),
        ({"action": "all-matching", "query": "status=unknown"}, "Fix the filter first"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_changes_nothing(staff_client, org, data, message):
    family = FamilyFactory(organization=org)
    staff_client.post(SELECT_FAMILIES, {"action": "toggle", "ids": family.pk, "selected": "1"})
    response = staff_client.post(SELECT_FAMILIES, data, **FRAGMENT)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert _selection(staff_client).ids == {family.pk}


def test_without_javascript_a_refusal_comes_back_as_a_message_on_the_list(staff_client, org):
    response = staff_client.post(
        SELECT_FAMILIES, {"action": "all-matching", "query": "status=unknown"}, follow=True
    )
    assert "Fix the filter first" in response.content.decode()


def test_a_foreign_next_address_is_not_followed(staff_client):
    response = staff_client.post(
        SELECT_FAMILIES, {"action": "clear", "next": "https://evil.example/"}
    )
    assert response["Location"] == FAMILIES


def test_an_unknown_kind_is_not_found(staff_client):
    response = staff_client.post(reverse("families:selection", args=["pets"]), {"action": "clear"})
    assert response.status_code == 404


def test_the_selection_endpoint_needs_a_post_and_a_staff_login(client, staff_client):
    assert staff_client.get(SELECT_FAMILIES).status_code == 405
    assert client.post(SELECT_FAMILIES, {"action": "clear"}).status_code == 302


def test_a_selection_whose_program_was_deleted_is_cleared_with_a_message(staff_client, org):
    program, _ = _swimmers(org, 2)
    staff_client.post(SELECT_FAMILIES, {"action": "all-matching", "query": f"program={program.pk}"})
    program.delete()
    html = staff_client.get(FAMILIES).content.decode()
    assert "Your selection no longer matched anything, so it was cleared." in html
    assert _selection(staff_client).is_empty


def test_students_selected_by_filter_count_students_not_families(org):
    program = ProgramFactory(organization=org)
    family = FamilyFactory(organization=org)
    StudentFactory.create_batch(3, family=family, program=program)
    assert _count(org, kind="students", filter_query=f"program={program.pk}") == 3
    assert _count(org, kind="families", filter_query=f"program={program.pk}") == 1
    assert Student.objects.count() == 3 and Family.objects.count() == 1


# --- The list's summary follows the selection after "select all matching" ---


def _all_swimmers_selected(staff_client, org, count):
    program, swimmers = _swimmers(org, count)
    FamilyFactory.create_batch(2, organization=org)
    query = f"program={program.pk}"
    staff_client.post(SELECT_FAMILIES, {"action": "all-matching", "query": query})
    return f"{FAMILIES}?{query}", swimmers


def _tick(staff_client, family, *, selected: bool, next_url: str) -> str:
    response = staff_client.post(
        SELECT_FAMILIES,
        {
            "action": "toggle",
            "ids": family.pk,
            "selected": "1" if selected else "0",
            "next": next_url,
        },
        **FRAGMENT,
    )
    assert response.status_code == 200
    return response.content.decode()


def test_unticking_one_after_select_all_updates_the_summary_with_the_bar(staff_client, org):
    page_url, swimmers = _all_swimmers_selected(staff_client, org, 4)
    answer = _tick(staff_client, swimmers[0], selected=False, next_url=page_url)
    assert "<strong>3</strong> families selected" in answer
    assert 'id="selection-summary"' in answer
    assert "All 4 matching families are selected except 1." in answer
    assert "All 4 matching families are selected." not in answer


def test_the_reloaded_list_says_which_part_of_all_matching_is_selected(staff_client, org):
    page_url, swimmers = _all_swimmers_selected(staff_client, org, 4)
    _tick(staff_client, swimmers[0], selected=False, next_url=page_url)
    _tick(staff_client, swimmers[1], selected=False, next_url=page_url)
    html = staff_client.get(page_url).content.decode()
    assert "All 4 matching families are selected except 2." in html
    assert "<strong>2</strong> families selected" in html
    # ...and offers to take the unticked ones back in.
    assert "Select all 4 matching" in html


def test_ticking_the_row_back_in_says_all_are_selected_again(staff_client, org):
    page_url, swimmers = _all_swimmers_selected(staff_client, org, 4)
    _tick(staff_client, swimmers[0], selected=False, next_url=page_url)
    answer = _tick(staff_client, swimmers[0], selected=True, next_url=page_url)
    assert "All 4 matching families are selected." in answer
    html = staff_client.get(page_url).content.decode()
    assert "All 4 matching families are selected." in html
    assert "Select all 4 matching" not in html


def test_unticking_every_matching_row_offers_select_all_again(staff_client, org):
    page_url, swimmers = _all_swimmers_selected(staff_client, org, 2)
    for family in swimmers:
        answer = _tick(staff_client, family, selected=False, next_url=page_url)
    assert "are selected" not in answer
    assert "Select all 2 matching" in answer


def test_a_tick_on_another_filters_page_leaves_that_pages_summary_alone(staff_client, org):
    _, swimmers = _all_swimmers_selected(staff_client, org, 3)
    answer = _tick(staff_client, swimmers[0], selected=False, next_url=FAMILIES)
    assert "<strong>2</strong> families selected" in answer
    assert 'id="selection-summary"' not in answer
