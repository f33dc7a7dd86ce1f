"""What the import tests share: an organization's Family Template, the fixture files, and a
preview or an import of one of them run in-process."""

from __future__ import annotations

from pathlib import Path

from families.importing import apply, cells, mapping, parse, plan
from families.importing.models import DirectoryImport
from tests.factories import PhoneFieldFactory

FILES = Path(__file__).resolve().parent.parent / "import_files"


def template(org) -> dict[str, object]:
    """Mother cell, Father cell and Home, as most schools set the Family Template up."""
    return {
        label: PhoneFieldFactory(organization=org, label=label, order=order)
        for order, label in enumerate(["Mother cell", "Father cell", "Home"], start=1)
    }


def read(name: str) -> bytes:
    return (FILES / name).read_bytes()


def config_for(org, parsed: parse.ParsedFile, **options) -> plan.Config:
    columns = mapping.guess_mapping(parsed.headers, organization=org, remembered={})
    dates = plan.birth_dates_of(parsed, columns)
    options.setdefault("date_order", cells.date_order_guess(dates, "mdy"))
    return plan.Config(columns=columns, **options)


def preview(org, name: str, **options) -> plan.Preview:
    parsed = parse.parse_upload(read(name))
    return plan.preview_make(
        organization=org, parsed=parsed, config=config_for(org, parsed, **options)
    )


def make_import(org, user, name: str, **options) -> DirectoryImport:
    """A previewed import of a fixture file, as the pages leave it before Import is pressed."""
    data = read(name)
    parsed = parse.parse_upload(data)
    config = config_for(org, parsed, **options)
    preview_ = plan.preview_make(organization=org, parsed=parsed, config=config)
    text, _ = parse.decode(data)
    return DirectoryImport.objects.create(
        organization=org,
        uploaded_by=user,
        file_name=name,
        content=text,
        encoding=parsed.encoding,
        delimiter=parsed.delimiter,
        headers=parsed.headers,
        row_count=len(parsed.rows),
        mapping=config.to_json(),
        status=DirectoryImport.Status.PREVIEWED,
        preview=preview_.to_json(),
    )


def run_import(directory_import: DirectoryImport, user) -> DirectoryImport:
    """Start and run an import in this process (tasks are eager without a broker)."""
    apply.import_start(directory_import=directory_import, actor=user, actor_label="Owner (admin)")
    apply.import_run(directory_import_id=directory_import.pk)
    directory_import.refresh_from_db()
    return directory_import
