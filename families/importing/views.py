"""The import's pages (Families > Import, admins only): upload, map the columns, preview,
import with a progress bar (htmx polls the fragment while the task runs), and the report CSV.
Once the retention job removed an import's file, its pages say so (and one never imported
can no longer be matched, previewed or started). Every import is looked up inside the
request's organization, so another's id is 404."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from families.importing import apply, cells, mapping, retention
from families.importing.forms import MappingForm, UploadForm
from families.importing.models import DirectoryImport
from families.importing.parse import ImportFileError, max_bytes, parse_text
from families.importing.plan import Config, birth_dates_of
from families.services import actor_label_for
from smsvoice.tenancy import admin_required

Status = DirectoryImport.Status
PREVIEW_ROWS = 200
SAMPLE_ROWS = 5


def _import(request: HttpRequest, pk: int) -> DirectoryImport:
    return get_object_or_404(DirectoryImport.objects.for_org(request.organization), pk=pk)


def _next_page(directory_import: DirectoryImport) -> str:
    if directory_import.status == Status.MAPPING:
        return reverse("families:import_mapping", args=[directory_import.pk])
    if directory_import.status in (Status.CHECKING, Status.PREVIEWED):
        return reverse("families:import_preview", args=[directory_import.pk])
    return reverse("families:import_progress", args=[directory_import.pk])


@admin_required
def import_upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > max_bytes():
                raise ImportFileError(
                    f"The file is {upload.size / 1_048_576:.1f} MB; an import takes files of up "
                    f"to {max_bytes() // 1_048_576} MB. Split it and import the parts one after "
                    "another."
                )
            directory_import = apply.import_create(
                organization=request.organization,
                actor=request.user,
                actor_label=actor_label_for(request.user),
                file_name=upload.name,
                data=upload.read(),
            )
        except ImportFileError as error:
            form.add_error("file", str(error))
        else:
            return redirect("families:import_mapping", directory_import.pk)
    recent = DirectoryImport.objects.for_org(request.organization).defer("content")[:10]
    status = 400 if form.errors else 200
    return render(
        request, "families/import/upload.html", {"form": form, "recent": recent}, status=status
    )


@admin_required
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    directory_import = _import(request, pk)
    if directory_import.status not in (Status.MAPPING, Status.PREVIEWED):
        return redirect(_next_page(directory_import))
    if directory_import.file_purged:
        return _removed(request, directory_import)
    organization = request.organization
    parsed = parse_text(directory_import.content)
    targets = mapping.targets_for(organization)
    if directory_import.mapping.get("columns") is not None:
        config = Config.from_json(directory_import.mapping)
    else:
        columns = mapping.guess_mapping(parsed.headers, organization=organization)
        dates = birth_dates_of(parsed, columns)
        order = cells.date_order_guess(dates, mapping.remembered_date_order(organization))
        config = Config(columns=columns, date_order=order)
    initial = {f"col_{i}": key for i, key in config.columns.items()}
    initial.update(date_order=config.date_order, consent_basis=config.consent_basis)
    form = MappingForm(
        request.POST or None,
        initial=initial,
        headers=parsed.headers,
        samples=[row for _, row in parsed.rows[:SAMPLE_ROWS]],
        targets=targets,
    )
    if request.method == "POST" and form.is_valid():
        config = Config(
            columns=form.columns(),
            date_order=form.cleaned_data["date_order"],
            consent_basis=form.consent_basis_value(),
        )
        try:
            apply.import_check_start(directory_import=directory_import, config=config)
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            return redirect("families:import_preview", directory_import.pk)
    context = {
        "directory_import": directory_import,
        "form": form,
        "parsed": parsed,
        "country": organization.get_country_display(),
    }
    return render(
        request, "families/import/mapping.html", context, status=400 if form.errors else 200
    )


@admin_required
def import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    directory_import = _import(request, pk)
    polling = bool(request.headers.get("HX-Request"))
    if directory_import.status == Status.CHECKING:
        template = "families/import/_checking.html" if polling else "families/import/checking.html"
        return render(request, template, {"directory_import": directory_import})
    if polling:
        # The check is over (done, or back at mapping): the whole page shows what it found.
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    if directory_import.status != Status.PREVIEWED:
        return redirect(_next_page(directory_import))
    if directory_import.file_purged:
        return _removed(request, directory_import)
    preview = directory_import.preview
    rows = preview.get("rows", [])
    context = {
        "directory_import": directory_import,
        "preview": preview,
        "counts": preview.get("counts", {}),
        "rows": rows[:PREVIEW_ROWS],
        "rows_left_out": max(0, len(rows) - PREVIEW_ROWS),
        "consent_basis": directory_import.mapping.get("consent_basis", ""),
    }
    return render(request, "families/import/preview.html", context)


def _removed(request: HttpRequest, directory_import: DirectoryImport) -> HttpResponse:
    """An upload never imported whose file the retention job removed: nothing to match or
    preview any more, only what the preview had counted."""
    context = {
        "directory_import": directory_import,
        "counts": directory_import.preview.get("counts", {}),
        "retention_days": retention.retention_days(),
    }
    return render(request, "families/import/removed.html", context)


@admin_required
@require_POST
def import_start(request: HttpRequest, pk: int) -> HttpResponse:
    directory_import = _import(request, pk)
    try:
        apply.import_start(
            directory_import=directory_import,
            actor=request.user,
            actor_label=actor_label_for(request.user),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("families:import_progress", directory_import.pk)


@admin_required
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    directory_import = _import(request, pk)
    if directory_import.status in (Status.MAPPING, Status.CHECKING, Status.PREVIEWED):
        return redirect(_next_page(directory_import))
    context = {
        "directory_import": directory_import,
        "counts": directory_import.counts,
        "retention_days": retention.retention_days(),
    }
    if not directory_import.live:
        errors = directory_import.report_lines.filter(action="error").exclude(
            message__startswith="not imported:"
        )
        context["errors"] = list(errors.values_list("message", flat=True)[:50])
    if request.headers.get("HX-Request"):
        return render(request, "families/import/_progress.html", context)
    return render(request, "families/import/progress.html", context)


@admin_required
def import_report(request: HttpRequest, pk: int) -> HttpResponse:
    """What was done (or, before the import runs, what the preview says will be), one line per
    row of the file."""
    directory_import = _import(request, pk)
    before = directory_import.status in (Status.MAPPING, Status.CHECKING, Status.PREVIEWED)
    if before and directory_import.file_purged:  # the preview's rows went with the file
        return redirect(_next_page(directory_import))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stem = directory_import.file_name.rsplit(".", 1)[0][:80] or "import"
    kind = "preview" if before else "report"
    response["Content-Disposition"] = f'attachment; filename="{_safe(stem)}-{kind}.csv"'
    response.write("\ufeff")  # so that Excel reads it as UTF-8
    writer = csv.writer(response)
    writer.writerow(["row", "action", "family", "family id", "message"])
    if kind == "preview":
        for row, action, name, message in directory_import.preview.get("rows", []):
            writer.writerow([row, action, _cell(name), "", _cell(message)])
        return response
    lines = directory_import.report_lines.order_by("row", "id").values_list(
        "row", "action", "family_name", "family_id", "message"
    )
    for row, action, name, family_id, message in lines.iterator(chunk_size=2000):
        writer.writerow([row, action, _cell(name), family_id or "", _cell(message)])
    return response


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_ " else "_" for c in name).strip() or "import"


def _cell(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (a name can start with = or +)."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@") else value
