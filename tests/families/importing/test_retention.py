"""An import's uploaded file is not kept forever: IMPORT_FILE_RETENTION_DAYS after the import
ended (or after an upload that was never imported) the daily job empties the file and the
row-by-row preview, records when, and keeps the counts, the report lines and the consent
events; the import's pages then say the file was removed instead of offering it."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from families.importing import apply, retention
from families.importing.models import DirectoryImport, ImportReportLine
from families.importing.plan import Config
from families.importing.tasks import directory_import_files_purge
from families.models import ConsentEvent
from smsvoice.locks import try_lock
from tests.families.importing.helpers import make_import, run_import

pytestmark = pytest.mark.django_db
BASIS = "Parents ticked 'I agree to texts' on our paper enrollment form, dated Aug 2025"
Status = DirectoryImport.Status


def aged(directory_import: DirectoryImport, *, days: float, finished: bool = True) -> None:
    """Move an import's upload (and its end) ``days`` into the past."""
    then = timezone.now() - timedelta(days=days)
    values = {"created_at": then - timedelta(hours=1)}
    if finished:
        values["finished_at"] = then
    DirectoryImport.objects.filter(pk=directory_import.pk).update(**values)


@pytest.fixture
def done(org, fields, admin_member):
    """A finished import with an opt-in, a family left out for its errors, and report lines."""
    made = make_import(org, admin_member.user, "students_excel_utf16.csv", consent_basis=BASIS)
    return run_import(made, admin_member.user)


def report_of(directory_import: DirectoryImport) -> list:
    return list(
        ImportReportLine.objects.filter(directory_import=directory_import).values_list(
            "row", "action", "family_id", "family_name", "message"
        )
    )


def test_it_removes_the_file_of_an_import_ended_longer_ago_and_keeps_its_evidence(done):
    report, counts, events = report_of(done), done.counts, list(ConsentEvent.objects.all())
    previewed = done.preview["counts"]
    assert done.content and done.preview.get("rows") and report and events
    aged(done, days=31)

    assert retention.import_files_purge() == {"purged": 1}

    done.refresh_from_db()
    assert done.content == "" and done.file_purged_at is not None
    assert "rows" not in done.preview and "errors" not in done.preview
    assert done.preview["counts"] == previewed
    assert (done.status, done.counts) == (Status.DONE, counts)
    assert report_of(done) == report
    assert list(ConsentEvent.objects.all()) == events
    assert done.file_name == "students_excel_utf16.csv" and done.mapping["consent_basis"] == BASIS


def test_files_younger_than_the_retention_are_kept(done, settings):
    aged(done, days=29)
    assert retention.import_files_purge() == {"purged": 0}
    done.refresh_from_db()
    assert done.content and done.file_purged_at is None

    settings.IMPORT_FILE_RETENTION_DAYS = 7
    assert retention.import_files_purge() == {"purged": 1}


def test_the_time_counts_from_the_end_of_the_import_not_the_upload(done):
    DirectoryImport.objects.filter(pk=done.pk).update(
        created_at=timezone.now() - timedelta(days=90),
        finished_at=timezone.now() - timedelta(days=2),
    )
    assert retention.import_files_purge() == {"purged": 0}


def test_a_failed_import_is_ended_too(org, fields, admin_member):
    failed = make_import(org, admin_member.user, "families_utf8_bom.csv")
    DirectoryImport.objects.filter(pk=failed.pk).update(status=Status.FAILED, failure="It broke")
    aged(failed, days=45)
    assert retention.import_files_purge() == {"purged": 1}
    failed.refresh_from_db()
    assert failed.content == "" and failed.failure == "It broke"


@pytest.mark.parametrize("status", [Status.MAPPING, Status.PREVIEWED])
def test_an_upload_never_imported_is_removed_after_the_retention_from_its_upload(
    org, fields, admin_member, status
):
    left = make_import(org, admin_member.user, "semicolons_cp1252.csv")
    DirectoryImport.objects.filter(pk=left.pk).update(status=status)
    counts = left.preview["counts"]
    aged(left, days=31, finished=False)

    assert retention.import_files_purge() == {"purged": 1}

    left.refresh_from_db()
    assert left.status == status and left.content == "" and left.file_purged_at
    # The rows, errors and warnings quote the file's names and numbers; the totals stay.
    assert set(left.preview) <= set(retention.PREVIEW_KEPT)
    assert left.preview["counts"] == counts


@pytest.mark.parametrize("status", [Status.CHECKING, Status.QUEUED, Status.RUNNING])
def test_an_import_being_checked_queued_or_running_keeps_its_file(
    org, fields, admin_member, status
):
    busy = make_import(org, admin_member.user, "families_utf8_bom.csv")
    DirectoryImport.objects.filter(pk=busy.pk).update(status=status)
    aged(busy, days=400)
    assert retention.import_files_purge() == {"purged": 0}
    busy.refresh_from_db()
    assert busy.content and busy.file_purged_at is None


def test_a_second_run_changes_nothing(done):
    aged(done, days=31)
    retention.import_files_purge()
    done.refresh_from_db()
    first = done.file_purged_at
    assert retention.import_files_purge() == {"purged": 0}
    done.refresh_from_db()
    assert done.file_purged_at == first


def test_it_runs_once_at_a_time(done):
    aged(done, days=31)
    with try_lock("import-files-purge") as mine:
        assert mine
        assert retention.import_files_purge() == {"skipped": 1}
    done.refresh_from_db()
    assert done.content


def test_the_task_runs_the_purge(done):
    aged(done, days=31)
    assert directory_import_files_purge.apply().get() == {"purged": 1}


def test_a_started_check_or_import_is_not_purged_under_it(org, fields, admin_member):
    """The job lists what is due, then locks each row: one an admin moved meanwhile is left."""
    left = make_import(org, admin_member.user, "families_utf8_bom.csv")
    aged(left, days=31, finished=False)
    [due] = retention.imports_to_purge(now=timezone.now())
    DirectoryImport.objects.filter(pk=due.pk).update(status=Status.QUEUED)
    assert retention.import_file_purge(directory_import_id=due.pk, now=timezone.now()) == 0
    left.refresh_from_db()
    assert left.content


def test_a_removed_upload_cannot_be_checked_or_started_again(org, fields, admin_member):
    left = make_import(org, admin_member.user, "families_utf8_bom.csv")
    aged(left, days=31, finished=False)
    retention.import_files_purge()
    left.refresh_from_db()
    with pytest.raises(ValidationError, match="removed after being kept 30 days"):
        apply.import_start(directory_import=left, actor=admin_member.user, actor_label="Owner")
    with pytest.raises(ValidationError, match="upload it again"):
        apply.import_check_start(directory_import=left, config=Config.from_json(left.mapping))
    left.refresh_from_db()
    assert left.status == Status.PREVIEWED


# --- The pages ---


def test_the_finished_imports_page_says_the_file_was_removed_and_keeps_the_report(
    admin_client, done
):
    aged(done, days=31)
    retention.import_files_purge()
    page = admin_client.get(reverse("families:import_progress", args=[done.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "The uploaded file was removed after 30 days" in text
    assert "The counts and the report are kept." in text
    assert "Download the report" in text
    report = admin_client.get(reverse("families:import_report", args=[done.pk]))
    rows = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert len(rows) - 1 == len(report_of(done)) > 0


def test_the_page_says_nothing_of_removal_while_the_file_is_kept(admin_client, done):
    page = admin_client.get(reverse("families:import_progress", args=[done.pk]))
    assert "file-removed" not in page.content.decode()


@pytest.mark.parametrize("step", ["import_mapping", "import_preview"])
def test_a_removed_upload_never_imported_says_so_instead_of_offering_its_steps(
    admin_client, org, fields, admin_member, step, settings
):
    settings.IMPORT_FILE_RETENTION_DAYS = 14
    left = make_import(org, admin_member.user, "semicolons_cp1252.csv")
    if step == "import_mapping":
        DirectoryImport.objects.filter(pk=left.pk).update(status=Status.MAPPING)
    aged(left, days=15, finished=False)
    retention.import_files_purge()

    page = admin_client.get(reverse(f"families:{step}", args=[left.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "The uploaded file was removed after 14 days" in text
    assert "since it was never imported" in text and "upload it again" in text
    assert reverse("families:import_start", args=[left.pk]) not in text
    assert "Match columns" not in text.split("<h1>", 1)[1]
    posted = admin_client.post(reverse("families:import_mapping", args=[left.pk]), {})
    assert posted.status_code == 200 and "removed after 14 days" in posted.content.decode()


def test_starting_a_removed_upload_is_refused_in_words(admin_client, org, fields, admin_member):
    left = make_import(org, admin_member.user, "families_utf8_bom.csv")
    aged(left, days=31, finished=False)
    retention.import_files_purge()
    response = admin_client.post(reverse("families:import_start", args=[left.pk]), follow=True)
    text = response.content.decode()
    assert "removed after being kept 30 days; upload it again to import it." in text
    left.refresh_from_db()
    assert left.status == Status.PREVIEWED


def test_the_preview_csv_of_a_removed_upload_leads_to_the_page_that_says_so(
    admin_client, org, fields, admin_member
):
    left = make_import(org, admin_member.user, "families_utf8_bom.csv")
    aged(left, days=31, finished=False)
    retention.import_files_purge()
    response = admin_client.get(reverse("families:import_report", args=[left.pk]))
    assert response.status_code == 302
    assert response.url == reverse("families:import_preview", args=[left.pk])


def test_the_recent_imports_say_which_files_were_removed(admin_client, org, done, admin_member):
    kept = make_import(org, admin_member.user, "families_utf8_bom.csv")
    aged(done, days=31)
    retention.import_files_purge()
    page = admin_client.get(reverse("families:import_upload")).content.decode()
    assert page.count("file removed") == 1
    assert kept.file_name in page
