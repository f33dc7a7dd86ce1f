"""Imports of the fixture files in-process: the preview is what the import does, a second run
changes nothing, rows of one family are one family, matches by family id, guardian email and
family name + number, errors in words with row and column, and consent only with a basis."""

import datetime

import pytest

from families.importing import parse, plan
from families.importing.models import DirectoryImport, ImportReportLine
from families.models import (
    ConsentEvent,
    Family,
    Guardian,
    Location,
    OptOut,
    PhoneNumber,
    Program,
    Student,
)
from tests.factories import FamilyFactory, GuardianFactory, StaffMemberFactory
from tests.families.importing.helpers import config_for, make_import, preview, read, run_import

pytestmark = pytest.mark.django_db
FILES = ["families_utf8_bom.csv", "students_excel_utf16.csv", "semicolons_cp1252.csv"]
BASIS = "Parents ticked 'I agree to texts' on our paper enrollment form, dated Aug 2025"


@pytest.fixture
def admin(org):
    return StaffMemberFactory(organization=org, role="admin", first_name="Olga", last_name="Owner")


def directory(org) -> dict:
    """Everything an import can write, as plain values, to compare before and after."""
    return {
        "families": sorted(
            Family.objects.for_org(org).values_list(
                "name", "status", "location__name", "external_id"
            )
        ),
        "guardians": sorted(
            Guardian.objects.for_org(org).values_list(
                "family__name", "first_name", "last_name", "email"
            )
        ),
        "students": sorted(
            Student.objects.for_org(org).values_list(
                "family__name",
                "first_name",
                "last_name",
                "birth_date",
                "program__name",
                "level",
                "status",
                "external_id",
            ),
            key=str,
        ),
        "numbers": sorted(
            PhoneNumber.objects.for_org(org).values_list(
                "family__name", "field__label", "e164", "text_capable", "sms_opt_in"
            )
        ),
        "consent": ConsentEvent.objects.for_org(org).count(),
        "locations": sorted(Location.objects.for_org(org).values_list("name", flat=True)),
        "programs": sorted(Program.objects.for_org(org).values_list("name", flat=True)),
    }


def report(directory_import: DirectoryImport) -> list[tuple[int, str]]:
    return list(directory_import.report_lines.order_by("row").values_list("row", "action"))


@pytest.mark.parametrize("name", FILES)
def test_the_preview_is_what_the_import_does(org, fields, admin, name, settings):
    settings.IMPORT_CHUNK_FAMILIES = 1  # every family in its own chunk and transaction
    imported = make_import(org, admin.user, name, consent_basis=BASIS)
    previewed = imported.preview
    done = run_import(imported, admin.user)
    assert done.status == DirectoryImport.Status.DONE
    assert report(done) == [(row, action) for row, action, *_ in previewed["rows"]]
    assert {k: v for k, v in done.counts.items() if v} == {
        k: v for k, v in previewed["counts"].items() if v and k != "rows"
    }
    assert done.chunks_done == done.chunks_total == done.families_total > 1


@pytest.mark.parametrize("name", FILES)
def test_importing_the_same_file_again_changes_nothing(org, fields, admin, name):
    run_import(make_import(org, admin.user, name, consent_basis=BASIS), admin.user)
    before = directory(org)
    again = make_import(org, admin.user, name, consent_basis=BASIS)
    counts = again.preview["counts"]
    assert counts["families_created"] == counts["families_updated"] == 0
    done = run_import(again, admin.user)
    assert directory(org) == before
    assert {action for _, action in report(done)} <= {"unchanged", "error"}


def test_a_family_file_imports_families_guardians_students_and_numbers(org, fields, admin):
    run_import(make_import(org, admin.user, "families_utf8_bom.csv"), admin.user)
    rivera = Family.objects.for_org(org).get(external_id="F-100")
    assert (rivera.name, rivera.status, rivera.location.name) == ("Rivera", "active", "North")
    assert sorted(g.full_name for g in rivera.guardians.all()) == ["Ana Rivera", "David Rivera"]
    mia = rivera.students.get()
    assert (mia.full_name, mia.birth_date, mia.program.name, mia.level) == (
        "Mia Rivera",
        datetime.date(2016, 3, 14),
        "Recreational Gymnastics",
        "Level 1",
    )
    numbers = dict(rivera.phone_numbers.values_list("field__label", "e164"))
    assert numbers == {"Mother cell": "+12025550101", "Father cell": "+12025550102"}
    # "north" on another row is the same location, matched by name in any case.
    nguyen = Family.objects.for_org(org).get(external_id="F-102")
    assert nguyen.location == rivera.location and nguyen.status == "inactive"
    assert Location.objects.for_org(org).count() == 2
    assert nguyen.students.get().birth_date == datetime.date(2017, 1, 5)
    # Nobody is opted in without a consent basis.
    assert not PhoneNumber.objects.for_org(org).filter(sms_opt_in=True).exists()


def test_three_rows_of_one_family_are_one_family_with_three_students(org, fields, admin):
    run_import(make_import(org, admin.user, "students_excel_utf16.csv"), admin.user)
    garcia = Family.objects.for_org(org).get(name="Garcia")
    assert garcia.external_id == "5001"
    assert garcia.guardians.count() == 1 and garcia.phone_numbers.count() == 1
    births = dict(garcia.students.values_list("first_name", "birth_date"))
    # Excel's serial day numbers.
    assert births == {
        "Sofia": datetime.date(2016, 1, 1),
        "Mateo": datetime.date(2018, 1, 1),
        "Isabel": datetime.date(2020, 1, 1),
    }
    assert Family.objects.for_org(org).count() == 2


def test_bad_cells_are_errors_naming_row_and_column_and_their_family_is_left_out(
    org, fields, admin
):
    shown = preview(org, "semicolons_cp1252.csv")
    errors, warnings = shown.issues()
    assert "row 4, Mother Cell: (555) 0100 is not a valid US number." in errors
    assert any(e.startswith("row 5, Date of Birth: “2016-13-01” is not a date") for e in errors)
    assert "row 3: repeats row 2 exactly." in warnings
    # The same words on many rows are one line.
    assert any(
        w.startswith("rows 2, 3, 4, 5, 6, Parent Email: a guardian needs a name") for w in warnings
    )
    assert not any("is also the number" in w for w in warnings)  # rows 2 and 3: one family
    done = run_import(make_import(org, admin.user, "semicolons_cp1252.csv"), admin.user)
    assert dict(report(done)) == {
        2: "created",
        3: "created",
        4: "error",
        5: "error",
        6: "created",
    }
    assert sorted(Family.objects.for_org(org).values_list("name", flat=True)) == ["Dubois", "Roux"]
    line = done.report_lines.get(row=4)
    assert line.message == "row 4, Mother Cell: (555) 0100 is not a valid US number."
    # Day-first dates were read day first (the file has 31/12/2015).
    assert Student.objects.get(first_name="Chloé").birth_date == datetime.date(2015, 12, 31)


def test_an_existing_family_is_found_by_guardian_email_and_updated(org, fields, admin):
    family = FamilyFactory(organization=org, name="Rivera")
    GuardianFactory(
        family=family, first_name="Ana", last_name="Rivera", email="Ana.Rivera@example.test"
    )
    run_import(make_import(org, admin.user, "families_utf8_bom.csv"), admin.user)
    family.refresh_from_db()
    assert family.external_id == "F-100" and family.guardians.count() == 2
    assert family.phone_numbers.count() == 2
    assert Family.objects.for_org(org).filter(name="Rivera").count() == 1


def test_an_existing_family_is_found_by_name_and_number(org, fields, admin):
    family = FamilyFactory(organization=org, name="smith")
    PhoneNumber.objects.create(
        organization=org, family=family, field=fields["Home"], e164="+14155550106"
    )
    shown = preview(org, "families_utf8_bom.csv")
    smith = next(p for p in shown.plans if p.group.name == "Smith")
    assert smith.action == "updated" and smith.state.ref == family.pk
    assert "matched by family name and (415) 555-0106" in smith.summary()


def test_a_family_id_known_elsewhere_is_not_matched_by_email(org, fields, admin):
    other = FamilyFactory(organization=org, name="Rivera", external_id="X-9")
    GuardianFactory(family=other, email="ana.rivera@example.test")
    shown = preview(org, "families_utf8_bom.csv")
    rivera = next(p for p in shown.plans if p.group.name == "Rivera")
    assert rivera.action == "created"


def test_a_file_of_one_row_per_student_without_a_key_groups_by_guardian_email(org, fields, admin):
    data = (
        "Parent First Name,Parent Last Name,Parent Email,Mother Cell,Child First Name\n"
        "Ana,Rivera,ana@example.test,202-555-0101,Mia\n"
        "Ana,Rivera,ANA@example.test,202-555-0101,Leo\n"
    )
    parsed = parse.parse_text(data)
    shown = plan.preview_make(organization=org, parsed=parsed, config=config_for(org, parsed))
    assert [(p.group.rows, p.action) for p in shown.plans] == [([2, 3], "created")]
    assert (
        "row 3: is the same family as row 2 (guardian email ana@example.test); they are "
        "imported as one family."
    ) in shown.issues()[1]
    assert len(shown.plans[0].group.students) == 2


def test_texts_turn_on_only_with_a_basis_and_the_events_say_who_how_and_which_file(
    org, fields, admin
):
    without = run_import(make_import(org, admin.user, "students_excel_utf16.csv"), admin.user)
    assert without.counts.get("opt_ins", 0) == 0
    assert not PhoneNumber.objects.for_org(org).filter(sms_opt_in=True).exists()
    assert not ConsentEvent.objects.for_org(org).exists()

    done = run_import(
        make_import(org, admin.user, "students_excel_utf16.csv", consent_basis=BASIS), admin.user
    )
    # Only the Garcias said Yes; the Browns said No and stay as they were.
    assert done.counts["opt_ins"] == 1
    opted = PhoneNumber.objects.for_org(org).get(sms_opt_in=True)
    assert opted.e164 == "+16175550107"
    event = ConsentEvent.objects.for_org(org).get()
    assert (event.source, event.opted_in, event.actor) == ("import", True, admin.user)
    assert event.actor_label == "Owner (admin)"
    assert BASIS in event.note and "students_excel_utf16.csv" in event.note
    assert f"import {done.pk}" in event.note


def test_a_number_that_replied_stop_is_not_opted_in_by_an_import(org, fields, admin):
    OptOut.objects.create(organization=org, e164="+16175550107")
    shown = preview(org, "students_excel_utf16.csv", consent_basis=BASIS)
    assert shown.counts()["opt_ins"] == 0
    assert any("replied STOP, so it stays opted out" in w for w in shown.issues()[1])
    run_import(
        make_import(org, admin.user, "students_excel_utf16.csv", consent_basis=BASIS), admin.user
    )
    assert not PhoneNumber.objects.for_org(org).filter(sms_opt_in=True).exists()


def test_a_changed_number_is_a_new_number_and_loses_its_opt_in(org, fields, admin):
    run_import(
        make_import(org, admin.user, "students_excel_utf16.csv", consent_basis=BASIS), admin.user
    )
    data = "Account #,Mother Cell\n5001,617-555-0199\n"
    parsed = parse.parse_text(data)

    config = config_for(org, parsed)
    shown = plan.preview_make(organization=org, parsed=parsed, config=config)
    assert [p.action for p in shown.plans] == ["updated"]
    number = PhoneNumber.objects.for_org(org).get(e164="+16175550107")
    assert number.sms_opt_in
    imported = DirectoryImport.objects.create(
        organization=org,
        file_name="fix.csv",
        content=data,
        encoding="UTF-8",
        delimiter=",",
        headers=parsed.headers,
        row_count=1,
        mapping=config.to_json(),
        status="previewed",
    )
    run_import(imported, admin.user)
    number.refresh_from_db()
    assert (number.e164, number.sms_opt_in) == ("+16175550199", False)
    last = ConsentEvent.objects.for_org(org).first()
    assert (last.opted_in, last.source, last.e164) == (False, "import", "+16175550107")


def test_a_required_phone_field_left_empty_refuses_a_new_family(org, fields, admin):
    home = fields["Home"]
    home.required = True
    home.save()
    shown = preview(org, "students_excel_utf16.csv")
    errors, _ = shown.issues()
    assert "rows 2, 5, Home: Home is required." in errors
    assert shown.counts()["families_error"] == 2


def test_a_chunk_delivered_twice_is_written_once(org, fields, admin, settings):
    from families.importing import apply

    settings.IMPORT_CHUNK_FAMILIES = 1
    imported = make_import(org, admin.user, "students_excel_utf16.csv")
    apply.import_start(directory_import=imported, actor=admin.user, actor_label="x")
    DirectoryImport.objects.filter(pk=imported.pk).update(status="running")
    groups = plan.groups_for(
        organization=org,
        parsed=parse.parse_text(imported.content),
        config=plan.Config.from_json(imported.mapping),
    )
    assert apply.chunk_apply(directory_import_id=imported.pk, index=0, groups=groups[:1]) == 1
    assert apply.chunk_apply(directory_import_id=imported.pk, index=0, groups=groups[:1]) == 0
    apply.import_run(directory_import_id=imported.pk)  # a redelivered task goes on from chunk 1
    imported.refresh_from_db()
    assert imported.status == "done" and imported.chunks_done == 2
    assert Family.objects.for_org(org).count() == 2
    assert ImportReportLine.objects.filter(directory_import=imported).count() == 6


def test_a_number_on_two_families_of_the_file_is_a_warning(org, fields, admin):
    data = "Family,Mother Cell\nRivera,202-555-0101\nOkafor,202 555 0101\n"
    parsed = parse.parse_text(data)

    shown = plan.preview_make(organization=org, parsed=parsed, config=config_for(org, parsed))
    assert [p.action for p in shown.plans] == ["created", "created"]
    assert shown.issues()[1] == [
        "row 3, Mother Cell: (202) 555-0101 is also the number of the family on row 2."
    ]


def test_a_family_key_groups_rows_and_a_second_run_changes_nothing(org, fields, admin):
    data = read("students_excel_utf16.csv")
    parsed = parse.parse_upload(data)
    config = config_for(org, parsed)
    account = parsed.headers.index("Account #")
    config.columns[account] = "family_key"  # rows grouped, the key not kept

    def run_once():
        text, _ = parse.decode(data)
        imported = DirectoryImport.objects.create(
            organization=org,
            file_name="key.csv",
            content=text,
            encoding="UTF-16",
            delimiter="\t",
            headers=parsed.headers,
            row_count=6,
            mapping=config.to_json(),
            status="previewed",
        )
        return run_import(imported, admin.user)

    first = run_once()
    assert first.counts["families_created"] == 2
    assert set(Family.objects.for_org(org).values_list("external_id", flat=True)) == {""}
    before = directory(org)
    second = run_once()  # found again by guardian email
    assert second.counts == {"families_unchanged": 2, "rows_unchanged": 6, "opt_ins": 0}
    assert directory(org) == before


def test_a_family_the_services_refuse_is_an_error_and_the_rest_goes_on(
    org, fields, admin, monkeypatch
):
    """Whatever the services refuse while writing (a rule the preview could not see) makes
    that family an error, with nothing of it written; the chunk goes on without it."""
    from django.core.exceptions import ValidationError

    from families import services

    create = services.guardian_create

    def refuse_ana(**kwargs):
        if kwargs["first_name"] == "Ana":
            raise ValidationError("Ana cannot be added today.")
        return create(**kwargs)

    monkeypatch.setattr(services, "guardian_create", refuse_ana)
    # Two family keys, so two families for the file; the second is found to be the first's
    # by the guardian email once that one is planned.
    data = (
        "Family Key,Parent First Name,Parent Last Name,Parent Email,Mother Cell,Child First Name\n"
        "K1,Ana,Rivera,ana@example.test,202-555-0101,Mia\n"
        "K2,Anna,Rivera,ana@example.test,202-555-0101,Leo\n"
    )
    parsed = parse.parse_text(data)
    config = config_for(org, parsed)
    assert config.columns[0] == "family_key"
    imported = DirectoryImport.objects.create(
        organization=org,
        file_name="x.csv",
        content=data,
        encoding="UTF-8",
        delimiter=",",
        headers=parsed.headers,
        row_count=2,
        mapping=config.to_json(),
        status="previewed",
    )
    done = run_import(imported, admin.user)
    assert report(done) == [(2, "error"), (3, "created")]
    assert done.report_lines.get(row=2).message == "row 2: Ana cannot be added today."
    family = Family.objects.for_org(org).get()
    assert [g.first_name for g in family.guardians.all()] == ["Anna"]
    assert [s.first_name for s in family.students.all()] == ["Leo"]


def test_a_later_row_of_the_same_chunk_updates_the_family_an_earlier_row_made(org, fields, admin):
    data = (
        "Family Key,Family Name,Parent First Name,Parent Last Name,Parent Email,Mother Cell,"
        "Child First Name,Program\n"
        "K1,Rivera,Ana,,ana@example.test,202-555-0101,Mia,Tumbling\n"
        "K2,Rivera,Ana,Rivera-Lee,ana@example.test,202-555-0101,Leo,tumbling\n"
    )
    parsed = parse.parse_text(data)
    config = config_for(org, parsed)
    shown = plan.preview_make(organization=org, parsed=parsed, config=config)
    imported = DirectoryImport.objects.create(
        organization=org,
        file_name="x.csv",
        content=data,
        encoding="UTF-8",
        delimiter=",",
        headers=parsed.headers,
        row_count=2,
        mapping=config.to_json(),
        status="previewed",
        preview=shown.to_json(),
    )
    done = run_import(imported, admin.user)
    assert report(done) == [(2, "created"), (3, "updated")]
    family = Family.objects.for_org(org).get()
    assert [(g.first_name, g.last_name) for g in family.guardians.all()] == [("Ana", "Rivera-Lee")]
    assert sorted(family.students.values_list("first_name", "program__name")) == [
        ("Leo", "Tumbling"),
        ("Mia", "Tumbling"),
    ]
    assert directory(org) == directory(org)  # and once more: nothing left to change
    again = run_import(
        DirectoryImport.objects.create(
            organization=org,
            file_name="x.csv",
            content=data,
            encoding="UTF-8",
            delimiter=",",
            headers=parsed.headers,
            row_count=2,
            mapping=config.to_json(),
            status="previewed",
        ),
        admin.user,
    )
    assert {action for _, action in report(again)} == {"unchanged"}
