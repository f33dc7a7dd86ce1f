"""The Families, Students and Staff list pages: rows, paging, sorting, selection marks."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from families.models import Family
from families.selection import Selection, selection_to_session
from smsvoice.models import Organization
from tests.factories import (
    FamilyFactory,
    LocationFactory,
    PhoneFieldFactory,
    PhoneNumberFactory,
    ProgramFactory,
    StaffMemberFactory,
    StudentFactory,
)

pytestmark = pytest.mark.django_db

FAMILIES = reverse("families:family_list")
STUDENTS = reverse("families:student_list")
STAFF = reverse("families:staff_list")


def _families(org, count, **kwargs):
    return FamilyFactory.create_batch(count, organization=org, **kwargs)


def _row_names(response) -> list[str]:
    return [row.name for row in response.context["page_obj"].object_list]


def _store(client, selection: Selection) -> None:
    session = client.session
    selection_to_session(session, selection=selection)
    session.save()


def test_the_family_list_shows_name_status_location_students_and_numbers(staff_client, org):
    location = LocationFactory(organization=org, name="Downtown")
    family = FamilyFactory(organization=org, name="Rivera", location=location)
    StudentFactory(family=family, first_name="Ana", last_name="Rivera")
    StudentFactory(family=family, first_name="Luis", last_name="Rivera")
    field = PhoneFieldFactory(organization=org, label="Mother cell")
    PhoneNumberFactory(family=family, field=field, sms_opt_in=True)
    PhoneNumberFactory(family=family, field=PhoneFieldFactory(organization=org))

    html = staff_client.get(FAMILIES).content.decode()

    assert "Rivera" in html and "Downtown" in html and "Active" in html
    assert "Ana Rivera, Luis Rivera" in html
    assert "2 numbers" in html and "Texts on" in html
    assert f'href="/families/{family.pk}/"' in html


def test_a_family_with_no_opted_in_number_says_texts_off(staff_client, org):
    family = FamilyFactory(organization=org)
    PhoneNumberFactory(family=family, field=PhoneFieldFactory(organization=org))
    html = staff_client.get(FAMILIES).content.decode()
    assert "1 number" in html and "Texts off" in html


def test_the_list_shows_fifty_per_page_and_pages_keep_the_filter(staff_client, org):
    program = ProgramFactory(organization=org)
    for family in _families(org, 55):
        StudentFactory(family=family, program=program)
    _families(org, 3)

    first = staff_client.get(FAMILIES, {"program": program.pk})
    assert len(first.context["page_obj"].object_list) == 50
    assert first.context["page_obj"].paginator.count == 55
    html = first.content.decode()
    next_link = re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    assert f"program={program.pk}" in next_link and "page=2" in next_link

    second = staff_client.get(FAMILIES + next_link)
    assert len(second.context["page_obj"].object_list) == 5
    assert not set(_row_names(first)) & set(_row_names(second))


def test_sorting_by_a_column_with_ties_pages_without_repeats(staff_client, org):
    _families(org, 30, status=Family.Status.ACTIVE)
    _families(org, 30, status=Family.Status.INACTIVE)
    seen = []
    for page in (1, 2):
        response = staff_client.get(FAMILIES, {"sort": "-status", "page": page})
        seen += [row.pk for row in response.context["page_obj"].object_list]
    assert len(seen) == len(set(seen)) == 60
    first_page = staff_client.get(FAMILIES, {"sort": "-status"}).context["page_obj"]
    assert [row.status for row in first_page.object_list] == ["inactive"] * 30 + ["active"] * 20


def test_a_column_heading_sorts_and_a_second_click_reverses(staff_client, org):
    FamilyFactory(organization=org, name="Adams")
    FamilyFactory(organization=org, name="Zhou")
    assert _row_names(staff_client.get(FAMILIES, {"sort": "-name"})) == ["Zhou", "Adams"]
    html = staff_client.get(FAMILIES, {"sort": "name"}).content.decode()
    assert '<a href="?sort=-name">Name' in html
    assert 'aria-sort="ascending"' in html


def test_an_invalid_filter_shows_a_message_and_no_rows(staff_client, org, other_org):
    FamilyFactory(organization=org)
    theirs = ProgramFactory(organization=other_org)
    response = staff_client.get(FAMILIES, {"program": theirs.pk})
    assert response.status_code == 200
    assert _row_names(response) == []
    html = response.content.decode()
    assert "Select a valid choice" in html and "Fix the filter above" in html
    assert "matching</button>" not in html


def test_another_organizations_families_never_appear(staff_client, org, other_org):
    FamilyFactory(organization=org, name="Ours")
    FamilyFactory(organization=other_org, name="Theirs")
    assert _row_names(staff_client.get(FAMILIES)) == ["Ours"]


def test_the_bottom_bar_is_hidden_while_nothing_is_selected(staff_client, org):
    FamilyFactory(organization=org)
    html = staff_client.get(FAMILIES).content.decode()
    assert re.search(r'<div id="bottombar"[^>]* hidden>', html)


def test_selected_rows_are_ticked_and_the_bar_counts_them(staff_client, org):
    chosen, other = _families(org, 2)
    _store(staff_client, Selection(kind="families", ids=frozenset({chosen.pk})))

    response = staff_client.get(FAMILIES)

    assert response.context["selected_ids"] == {chosen.pk}
    html = response.content.decode()
    assert f'value="{chosen.pk}" aria-label="Select {chosen.name}" checked' in html
    assert f'value="{other.pk}" aria-label="Select {other.name}">' in html
    assert "<strong>1</strong> family selected" in html
    assert not re.search(r'<div id="bottombar"[^>]* hidden>', html)


def test_after_select_all_matching_the_page_offers_no_second_select_all(staff_client, org):
    program = ProgramFactory(organization=org)
    StudentFactory(family=FamilyFactory(organization=org), program=program)
    _store(staff_client, Selection(kind="families", filter_query=f"program={program.pk}"))
    html = staff_client.get(FAMILIES, {"program": program.pk}).content.decode()
    assert "The matching family is selected." in html
    assert "Select all 1 matching" not in html
    # On another filter the offer comes back.
    assert "Select all" in staff_client.get(FAMILIES).content.decode()


def test_voice_is_offered_in_the_us_but_not_in_australia(staff_client, org):
    FamilyFactory(organization=org)
    html = staff_client.get(FAMILIES).content.decode()
    assert "<span>SMS</span>" in html and "<span>Voice</span>" in html

    Organization.objects.filter(pk=org.pk).update(country=Organization.Country.AU)
    html = staff_client.get(FAMILIES).content.decode()
    assert "<span>SMS</span>" in html and "<span>Voice</span>" not in html


def test_the_student_list_shows_family_program_and_level(staff_client, org):
    program = ProgramFactory(organization=org, name="Swim 3")
    family = FamilyFactory(organization=org, name="Nguyen")
    StudentFactory(family=family, first_name="Bao", last_name="Nguyen", program=program)
    html = staff_client.get(STUDENTS).content.decode()
    assert "Bao Nguyen" in html and "Swim 3" in html and "Level 1" in html
    assert f'href="/families/{family.pk}/"' in html


def test_the_staff_list_shows_title_role_and_links_to_the_staff_page(staff_client, org):
    coach = StaffMemberFactory(organization=org, first_name="Dana", last_name="Lee", title="Head")
    html = staff_client.get(STAFF).content.decode()
    assert "Dana Lee" in html and "Head" in html
    assert f'href="/staff/{coach.pk}/"' in html


def test_the_nav_links_to_the_three_lists(staff_client):
    html = staff_client.get(FAMILIES).content.decode()
    for url in (FAMILIES, STUDENTS, STAFF):
        assert f'href="{url}"' in html


@pytest.mark.parametrize("url", [FAMILIES, STUDENTS, STAFF])
def test_anonymous_visitors_are_sent_to_log_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def _family_rows(org, program, fields, count):
    for family in _families(org, count, location=LocationFactory(organization=org)):
        StudentFactory.create_batch(2, family=family, program=program)
        for field in fields:
            PhoneNumberFactory(family=family, field=field)


def test_the_family_list_takes_a_fixed_number_of_queries_for_fifty_rows(
    staff_client, org, django_assert_max_num_queries
):
    program = ProgramFactory(organization=org)
    fields = PhoneFieldFactory.create_batch(2, organization=org)
    _store(staff_client, Selection(kind="families", filter_query=f"program={program.pk}"))
    query = {"program": program.pk}

    _family_rows(org, program, fields, 3)
    with django_assert_max_num_queries(20) as few:
        staff_client.get(FAMILIES, query)
    _family_rows(org, program, fields, 57)
    with django_assert_max_num_queries(20) as many:
        response = staff_client.get(FAMILIES, query)

    assert len(response.context["page_obj"].object_list) == 50
    assert response.context["selected_ids"] == {
        row.pk for row in response.context["page_obj"].object_list
    }
    assert len(many.captured_queries) == len(few.captured_queries), (
        "3 rows and 50 rows must take the same queries (no query per row)"
    )


@pytest.mark.parametrize("url", [FAMILIES, reverse("families_api:family_list")])
def test_a_deep_page_counts_numbers_for_its_own_rows_only(staff_client, org, url):
    families = FamilyFactory.create_batch(120, organization=org)
    with CaptureQueriesContext(connection) as captured:
        response = staff_client.get(url, {"page": 3, "sort": "-name"})
    decorated = [q["sql"] for q in captured.captured_queries if '"phone_count"' in q["sql"]]
    assert len(decorated) == 1
    assert "OFFSET" not in decorated[0], "the counts must not be computed for skipped rows"
    expected = [f.name for f in sorted(families, key=lambda f: f.name, reverse=True)][100:]
    if url == FAMILIES:
        assert _row_names(response) == expected
    else:
        assert [row["name"] for row in response.json()["results"]] == expected
