"""Families > Import through its pages: admins only, upload → match columns → preview →
import → progress → report, bad files refused with a message and nothing kept, another
organization's imports 404, the consent basis asked for when an opt-in column is mapped."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from families.importing.models import DirectoryImport, ImportMapping
from families.models import ConsentEvent, Family, PhoneNumber
from tests.families.importing.helpers import make_import, read

pytestmark = pytest.mark.django_db
BASIS = "Written consent on our enrollment form, dated 2025"


def upload(client, name: str, data: bytes | None = None):
    file = SimpleUploadedFile(name, read(name) if data is None else data, "text/csv")
    return client.post(reverse("families:import_upload"), {"file": file})


@pytest.fixture
def mapping_post(eager_tasks, django_capture_on_commit_callbacks):
    """Post the mapping page's own initial choices, with ``changes`` on top; the check task
    runs in-process when the request commits, as in the demo."""

    def post(client, directory_import, **changes):
        page = client.get(reverse("families:import_mapping", args=[directory_import.pk]))
        form = page.context["form"]
        data = {name: form[name].value() or "" for name in form.fields}
        data.pop("consent_confirmed")
        data.update(changes)
        with django_capture_on_commit_callbacks(execute=True):
            url = reverse("families:import_mapping", args=[directory_import.pk])
            return client.post(url, data)

    return post


def test_the_whole_import_through_the_pages(
    admin_client, org, fields, eager_tasks, django_capture_on_commit_callbacks, mapping_post
):
    page = admin_client.get(reverse("families:family_list"))
    assert reverse("families:import_upload") in page.content.decode()

    response = upload(admin_client, "students_excel_utf16.csv")
    imported = DirectoryImport.objects.for_org(org).get()
    assert response.url == reverse("families:import_mapping", args=[imported.pk])
    page = admin_client.get(response.url)
    text = page.content.decode()
    assert "read as UTF-16 with tabs" in text and "What the law expects" in text
    assert "TCPA" in text and "CASL" in text and "Spam Act" in text
    assert page.context["form"]["col_0"].value() == "family_external_id"

    response = mapping_post(admin_client, imported, consent_basis=BASIS, consent_confirmed="on")
    assert response.status_code == 302
    page = admin_client.get(response.url)
    assert page.status_code == 200
    assert page.context["counts"]["families_created"] == 2
    assert Family.objects.for_org(org).count() == 0  # nothing written by the preview
    assert "1 number will be opted in to texts" in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("families:import_start", args=[imported.pk]))
    progress = admin_client.get(response.url)
    assert progress.status_code == 200
    imported.refresh_from_db()
    assert imported.status == "done" and imported.percent == 100
    assert "Download the report" in progress.content.decode()
    assert Family.objects.for_org(org).count() == 2
    assert PhoneNumber.objects.for_org(org).filter(sms_opt_in=True).count() == 1
    assert ConsentEvent.objects.for_org(org).get().source == "import"

    report = admin_client.get(reverse("families:import_report", args=[imported.pk]))
    assert report["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert rows[0] == ["row", "action", "family", "family id", "message"]
    assert [r[:2] for r in rows[1:]] == [[str(n), "created"] for n in range(2, 8)]
    assert rows[1][3] == str(Family.objects.get(name="Garcia").pk)


def test_the_progress_fragment_polls_while_the_import_runs(admin_client, org, fields, admin_member):
    imported = make_import(org, admin_member.user, "families_utf8_bom.csv")
    DirectoryImport.objects.filter(pk=imported.pk).update(
        status="running", families_total=4, families_done=2
    )
    url = reverse("families:import_progress", args=[imported.pk])
    fragment = admin_client.get(url, headers={"HX-Request": "true"})
    text = fragment.content.decode()
    assert "<html" not in text and f'hx-get="{url}"' in text
    assert 'value="50"' in text and "2 of 4 families written" in text
    DirectoryImport.objects.filter(pk=imported.pk).update(status="done")
    assert "hx-get" not in admin_client.get(url, headers={"HX-Request": "true"}).content.decode()


def test_an_opt_in_column_needs_a_stated_and_confirmed_basis(
    admin_client, org, fields, mapping_post
):
    upload(admin_client, "students_excel_utf16.csv")
    imported = DirectoryImport.objects.for_org(org).get()
    response = mapping_post(admin_client, imported)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "say how these parents gave consent" in errors["consent_basis"][0]
    assert "Tick the box" in errors["consent_confirmed"][0]
    imported.refresh_from_db()
    assert imported.status == "mapping"
    # Leaving the opt-in column out imports the numbers not opted in, no basis needed.
    response = mapping_post(admin_client, imported, col_6="")
    assert response.status_code == 302
    imported.refresh_from_db()
    assert imported.preview["counts"]["opt_ins"] == 0


def test_one_target_for_two_columns_is_refused(admin_client, org, fields, mapping_post):
    upload(admin_client, "families_utf8_bom.csv")
    imported = DirectoryImport.objects.for_org(org).get()
    response = mapping_post(admin_client, imported, col_15="family_name")
    assert response.status_code == 400
    assert (
        "already filled from the column “Family Name”"
        in response.context["form"].errors["col_15"][0]
    )


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("families.xlsx", b"PK\x03\x04xx", "Excel workbook"),
        ("empty.csv", b"", "The file is empty."),
        ("header.csv", b"Family,Mother Cell\n", "no rows to import"),
    ],
)
def test_a_bad_file_is_refused_with_a_message_and_nothing_kept(
    admin_client, org, fields, name, data, words
):
    response = upload(admin_client, name, data)
    assert response.status_code == 400
    assert words in response.content.decode()
    assert not DirectoryImport.objects.exists()
    assert not Family.objects.exists()


def test_a_file_too_large_is_refused(admin_client, org, fields, settings):
    settings.IMPORT_MAX_BYTES = 100
    response = upload(admin_client, "families_utf8_bom.csv")
    assert response.status_code == 400 and "takes files of up to" in response.content.decode()
    assert not DirectoryImport.objects.exists()


def test_the_mapping_is_remembered_for_the_organizations_next_file(
    admin_client, org, fields, other_staff_client, other_org, mapping_post
):
    upload(admin_client, "families_utf8_bom.csv")
    first = DirectoryImport.objects.for_org(org).get()
    # The admin says "Notes" is the level, and leaves "Level" out.
    mapping_post(admin_client, first, col_15="level", col_14="")
    assert ImportMapping.objects.get(organization=org).columns["notes"] == "level"

    upload(admin_client, "families_utf8_bom.csv")
    second = DirectoryImport.objects.for_org(org).latest("id")
    form = admin_client.get(reverse("families:import_mapping", args=[second.pk])).context["form"]
    assert (form["col_15"].value(), form["col_14"].value()) == ("level", None)

    upload(other_staff_client, "families_utf8_bom.csv")
    theirs = DirectoryImport.objects.for_org(other_org).get()
    page = other_staff_client.get(reverse("families:import_mapping", args=[theirs.pk]))
    assert page.context["form"]["col_14"].value() == "level"
    assert page.context["form"]["col_15"].value() is None


def test_another_organizations_imports_are_not_found(other_staff_client, org, admin_member, fields):
    imported = make_import(org, admin_member.user, "families_utf8_bom.csv")
    for name in ("import_mapping", "import_preview", "import_progress", "import_report"):
        url = reverse(f"families:{name}", args=[imported.pk])
        assert other_staff_client.get(url).status_code == 404, name
    url = reverse("families:import_start", args=[imported.pk])
    assert other_staff_client.post(url).status_code == 404
    imported.refresh_from_db()
    assert imported.status == "previewed"
    page = other_staff_client.get(reverse("families:import_upload"))
    assert imported.file_name not in page.content.decode()


def test_staff_who_are_not_admins_are_refused(staff_client, org, admin_member, fields):
    imported = make_import(org, admin_member.user, "families_utf8_bom.csv")
    assert staff_client.get(reverse("families:import_upload")).status_code == 403
    assert upload(staff_client, "families_utf8_bom.csv").status_code == 403
    for name in ("import_mapping", "import_preview", "import_progress", "import_report"):
        assert staff_client.get(reverse(f"families:{name}", args=[imported.pk])).status_code == 403
    assert (
        staff_client.post(reverse("families:import_start", args=[imported.pk])).status_code == 403
    )
    assert (
        reverse("families:import_upload")
        not in staff_client.get(reverse("families:family_list")).content.decode()
    )
    assert DirectoryImport.objects.count() == 1


def test_an_import_is_started_once(
    admin_client, org, fields, admin_member, eager_tasks, django_capture_on_commit_callbacks
):
    imported = make_import(org, admin_member.user, "families_utf8_bom.csv")
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("families:import_start", args=[imported.pk]))
    response = admin_client.post(reverse("families:import_start", args=[imported.pk]), follow=True)
    assert "cannot become queued" in response.content.decode()
    assert Family.objects.for_org(org).count() == 4


def test_the_preview_is_checked_off_the_request_and_the_page_polls(
    admin_client, org, fields, admin_member
):
    from families.importing import apply
    from families.importing.plan import Config

    upload(admin_client, "families_utf8_bom.csv")
    imported = DirectoryImport.objects.for_org(org).get()
    apply.import_check_start(directory_import=imported, config=Config(columns={1: "family_name"}))
    url = reverse("families:import_preview", args=[imported.pk])
    page = admin_client.get(url)
    assert "0 of 4 rows checked" in page.content.decode()
    fragment = admin_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in fragment and f'hx-get="{url}"' in fragment
    # The mapping page sends an import being checked to the checking page.
    mapping = admin_client.get(reverse("families:import_mapping", args=[imported.pk]))
    assert mapping.url == url
    assert apply.import_check(directory_import_id=imported.pk) == "previewed"
    done = admin_client.get(url, headers={"HX-Request": "true"})
    assert done.status_code == 204 and done["HX-Refresh"] == "true"
    assert admin_client.get(url).context["counts"]["families_created"] == 4


def test_a_mapping_changed_while_the_check_ran_is_the_one_kept(
    org, fields, admin_member, monkeypatch
):
    from families.importing import apply
    from families.importing.plan import Config

    imported = make_import(org, admin_member.user, "families_utf8_bom.csv")
    apply.import_check_start(directory_import=imported, config=Config(columns={1: "family_name"}))
    first_preview = apply.preview_make

    def admin_maps_again_meanwhile(**kwargs):
        DirectoryImport.objects.filter(pk=imported.pk).update(
            mapping={"columns": {"0": "family_name"}}
        )
        return first_preview(**kwargs)

    monkeypatch.setattr(apply, "preview_make", admin_maps_again_meanwhile)
    assert apply.import_check(directory_import_id=imported.pk) == "checking"
    imported.refresh_from_db()
    assert imported.preview == {"checked": 0, "total": 4}


def test_the_finished_import_lists_the_rows_it_left_out(admin_client, org, fields, admin_member):
    from tests.families.importing.helpers import run_import

    done = run_import(
        make_import(org, admin_member.user, "semicolons_cp1252.csv"), admin_member.user
    )
    page = admin_client.get(reverse("families:import_progress", args=[done.pk]))
    assert page.context["errors"] == [
        "row 4, Mother Cell: (555) 0100 is not a valid US number.",
        "row 5, Date of Birth: “2016-13-01” is not a date (dates are read day first, e.g. "
        "31/12/2015, or as 2015-12-31).",
    ]
    assert "Rows not imported" in page.content.decode()
