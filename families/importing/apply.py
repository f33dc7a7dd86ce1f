"""Writing an import: the upload kept (``import_create``), its mapping saved and its preview
computed by a task (``import_check_start``, ``import_check``), starting it (previewed →
queued, the task enqueued on commit) and the task's body, which writes the file's families
chunk by chunk.

Each chunk is one transaction: the import row is locked, the chunk's groups are planned
afresh against the directory as it now is (``plan.Planner``, the preview's own code) and each
group's changes are written through the services (``families.services``, ``families.sync``)
in a savepoint, then the chunk's report lines and the import's counters are saved. A task
delivered twice, or started again after a crash, finds the chunks already committed counted
in ``chunks_done`` and goes on from the next; a family written by an earlier chunk is found
again by its match key, so nothing is made twice.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from celery import current_app
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from families import services, sync
from families.importing.mapping import mapping_remember
from families.importing.models import (
    DirectoryImport,
    ImportReportLine,
    status_move,
)
from families.importing.parse import decode, parse_text, parse_upload
from families.importing.plan import (
    CREATED,
    ERROR,
    Config,
    FamilyIn,
    GroupPlan,
    Issue,
    Planner,
    family_state_load,
    groups_for,
    plan_lines,
    preview_make,
)
from families.models import ConsentEvent, Family, Location, PhoneField, Program
from smsvoice.models import Organization

Status = DirectoryImport.Status
TASK = "families.importing.tasks.directory_import_run"


def chunk_size() -> int:
    return settings.IMPORT_CHUNK_FAMILIES


def import_create(
    *, organization: Organization, actor: Any, actor_label: str, file_name: str, data: bytes
) -> DirectoryImport:
    """Keep an uploaded file, or raise ImportFileError (nothing kept)."""
    parsed = parse_upload(data)
    text, _ = decode(data)
    return DirectoryImport.objects.create(
        organization=organization,
        uploaded_by=actor,
        uploaded_by_label=actor_label,
        file_name=file_name[:255],
        content=text,
        encoding=parsed.encoding,
        delimiter=parsed.delimiter,
        headers=parsed.headers,
        row_count=len(parsed.rows),
    )


CHECK_TASK = "families.importing.tasks.directory_import_check"


def file_kept_check(directory_import: DirectoryImport) -> None:
    """Refuse to check or start an import whose file the retention job removed."""
    if directory_import.file_purged_at is not None:
        raise ValidationError(
            "This file was removed after being kept "
            f"{settings.IMPORT_FILE_RETENTION_DAYS} days; upload it again to import it."
        )


@transaction.atomic
def import_check_start(*, directory_import: DirectoryImport, config: Config) -> None:
    """Save the admin's mapping (and remember it for the organization's next file) and queue
    the preview's computation; the page polls until it is ready."""
    locked = DirectoryImport.objects.select_for_update().get(pk=directory_import.pk)
    file_kept_check(locked)
    status_move(locked, Status.CHECKING)
    locked.mapping = config.to_json()
    locked.preview = {"checked": 0, "total": locked.row_count}
    locked.failure = ""
    locked.save(update_fields=["status", "mapping", "preview", "failure"])
    mapping_remember(
        organization=locked.organization,
        headers=locked.headers,
        columns=config.columns,
        date_order=config.date_order,
    )
    directory_import.status, directory_import.mapping = locked.status, locked.mapping
    pk = locked.pk
    transaction.on_commit(lambda: current_app.tasks[CHECK_TASK].delay(pk))


def import_check(*, directory_import_id: int) -> str:
    """The check task's body: the preview of the file with the mapping saved, kept on the
    import (nothing else is written). A mapping changed meanwhile wins: its own task saves."""
    imported = DirectoryImport.objects.select_related("organization").get(pk=directory_import_id)
    if imported.status != Status.CHECKING:
        return imported.status
    mapping = imported.mapping
    total = imported.row_count

    def progress(checked: int) -> None:
        DirectoryImport.objects.filter(pk=imported.pk, status=Status.CHECKING).update(
            preview={"checked": checked, "total": total}
        )

    try:
        preview = preview_make(
            organization=imported.organization,
            parsed=parse_text(imported.content),
            config=Config.from_json(mapping),
            progress=progress,
        )
    except Exception as error:
        with transaction.atomic():
            locked = DirectoryImport.objects.select_for_update().get(pk=imported.pk)
            if locked.status == Status.CHECKING and locked.mapping == mapping:
                status_move(locked, Status.MAPPING)
                locked.failure = (
                    f"The rows could not be checked ({type(error).__name__}); try again."
                )
                locked.save(update_fields=["status", "failure"])
        raise
    with transaction.atomic():
        locked = DirectoryImport.objects.select_for_update().get(pk=imported.pk)
        if locked.status != Status.CHECKING or locked.mapping != mapping:
            return locked.status
        status_move(locked, Status.PREVIEWED)
        locked.preview = preview.to_json()
        locked.families_total = len(preview.plans)
        locked.save(update_fields=["status", "preview", "families_total"])
    return Status.PREVIEWED


@transaction.atomic
def import_start(*, directory_import: DirectoryImport, actor: Any, actor_label: str) -> None:
    """Queue a previewed import; the admin who starts it is who the consent events name."""
    locked = DirectoryImport.objects.select_for_update().get(pk=directory_import.pk)
    file_kept_check(locked)
    status_move(locked, Status.QUEUED)
    # The chunk size is the import's own, so a restarted task cuts the file the same way.
    locked.mapping = {
        **locked.mapping,
        "started_by": actor.pk,
        "started_by_label": actor_label,
        "chunk_size": chunk_size(),
    }
    locked.save(update_fields=["status", "mapping"])
    directory_import.status, directory_import.mapping = locked.status, locked.mapping
    pk = locked.pk
    transaction.on_commit(lambda: current_app.tasks[TASK].delay(pk))


def import_run(*, directory_import_id: int) -> dict[str, int]:
    """The task's body: every chunk not yet committed, in order."""
    claimed = DirectoryImport.objects.filter(pk=directory_import_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=timezone.now()
    )
    imported = DirectoryImport.objects.select_related("organization").get(pk=directory_import_id)
    if not claimed and imported.status != Status.RUNNING:
        return {"chunks": 0}
    config = Config.from_json(imported.mapping)
    groups = groups_for(
        organization=imported.organization, parsed=parse_text(imported.content), config=config
    )
    size = imported.mapping.get("chunk_size") or chunk_size()
    chunks = [groups[start : start + size] for start in range(0, len(groups), size)]
    if imported.chunks_total != len(chunks) or imported.families_total != len(groups):
        DirectoryImport.objects.filter(pk=imported.pk).update(
            chunks_total=len(chunks), families_total=len(groups)
        )
    written = 0
    for index in range(imported.chunks_done, len(chunks)):
        try:
            written += chunk_apply(
                directory_import_id=imported.pk, index=index, groups=chunks[index]
            )
        except Exception as error:
            _fail(imported.pk, index * size, error)
            raise
    _finish(imported.pk)
    return {"chunks": written}


@transaction.atomic
def chunk_apply(*, directory_import_id: int, index: int, groups: list[FamilyIn]) -> int:
    """Write one chunk, once: 1 if it was written now, 0 if it had been already."""
    imported = (
        DirectoryImport.objects.select_for_update()
        .select_related("organization")
        .get(pk=directory_import_id)
    )
    if imported.status != Status.RUNNING or imported.chunks_done != index:
        return 0
    # One chunk at a time per organization: two imports of one school planning the same new
    # family at once would otherwise both create it.
    Organization.objects.select_for_update().filter(pk=imported.organization_id).first()
    writer = _Writer(imported)
    writer.load(groups)
    lines: list[ImportReportLine] = []
    counts = Counter(imported.counts)
    for group in groups:
        plan = writer.write(group)
        counts[f"families_{plan.action}"] += 1
        counts[f"rows_{plan.action}"] += len(group.rows)
        counts["opt_ins"] += sum(1 for change in plan.changes if change.kind == "opt_in")
        family_id = plan.state.ref if plan.state is not None else None
        for row, action, name, message in plan_lines(plan):
            lines.append(
                ImportReportLine(
                    directory_import=imported,
                    row=row,
                    action=action,
                    family_name=name[:120],
                    family_id=family_id if isinstance(family_id, int) else None,
                    message=message,
                )
            )
    ImportReportLine.objects.bulk_create(lines)
    imported.counts = dict(counts)
    imported.chunks_done += 1
    imported.families_done += len(groups)
    imported.save(update_fields=["counts", "chunks_done", "families_done"])
    return 1


def _fail(directory_import_id: int, families_done: int, error: Exception) -> None:
    with transaction.atomic():
        imported = DirectoryImport.objects.select_for_update().get(pk=directory_import_id)
        if imported.status != Status.RUNNING:
            return
        status_move(imported, Status.FAILED)
        imported.failure = (
            f"The import stopped after {families_done:,} families ({type(error).__name__}). "
            "The families before that point are imported; import the same file again to "
            "finish: what is already there is found again and left as it is."
        )
        imported.finished_at = timezone.now()
        imported.save(update_fields=["status", "failure", "finished_at"])


def _finish(directory_import_id: int) -> None:
    with transaction.atomic():
        imported = DirectoryImport.objects.select_for_update().get(pk=directory_import_id)
        if imported.status == Status.RUNNING:
            status_move(imported, Status.DONE)
            imported.finished_at = timezone.now()
            imported.save(update_fields=["status", "finished_at"])


# --- Writing one family ---


def _named(model: type[Location] | type[Program], organization: Organization, name: str):
    found = model.objects.for_org(organization).filter(name__iexact=name).first()
    return found or model.objects.create(organization=organization, name=name)


class _Writer:
    def __init__(self, imported: DirectoryImport) -> None:
        self.imported = imported
        self.organization = imported.organization
        self.config = Config.from_json(imported.mapping)
        self.planner = Planner(organization=self.organization, config=self.config)
        self.fields = {f.pk: f for f in PhoneField.objects.for_org(self.organization)}
        started_by = imported.mapping.get("started_by")
        self.actor = get_user_model().objects.filter(pk=started_by).first() if started_by else None
        self.actor_label = imported.mapping.get("started_by_label", "")
        self.note = (
            f"Import of {imported.file_name} (import {imported.pk}). Consent basis stated by "
            f"the admin: {self.config.consent_basis}"
        )
        self.loaded = False
        self.named: dict[tuple, Location | Program] = {}

    def write(self, group: FamilyIn) -> GroupPlan:
        if not self.loaded:
            raise RuntimeError("load the chunk first")
        plan = self.planner.plan(group)
        if plan.action == ERROR or not plan.changes:
            return plan
        old_ref = plan.state.ref
        try:
            with transaction.atomic():
                family = self._execute(plan)
        except (ValidationError, IntegrityError) as error:
            messages = getattr(error, "messages", None) or [str(error)]
            group.errors.append(Issue(group.first_row, "", "; ".join(messages)))
            # Nothing of it was written: the planner forgets what it had planned, and a
            # location or program made in the rolled-back savepoint is looked up again.
            self.named.clear()
            if isinstance(old_ref, int):
                self.planner.state_replace(family_state_load(old_ref), old_ref)
            else:
                self.planner.forget(old_ref)
            return GroupPlan(group, ERROR)
        # The planned state is what was written; its new rows' ids are read back only if a
        # later group of the chunk matches this family (Planner.stale).
        plan.state.ref = family.pk
        self.planner.state_replace(plan.state, old_ref)
        self.planner.stale.add(family.pk)
        return plan

    def _named(self, model: type[Location] | type[Program], name: str):
        """A location or program by name (any case), made when new; looked up once a chunk."""
        if not name:
            return None
        key = (model, name.lower())
        if key not in self.named:
            self.named[key] = _named(model, self.organization, name)
        return self.named[key]

    def _execute(self, plan: GroupPlan) -> Family:
        data: dict[str, Any] = {}
        for change in plan.changes:
            if change.kind == "family_set":
                data.update(change.data)
        family = self._family(plan, data)
        guardians = {g.pk: g for g in family.guardians.all()}
        students = {s.pk: s for s in family.students.all()}
        for change in plan.changes:
            handler = getattr(self, f"_do_{change.kind}", None)
            if handler is not None:
                handler(family, change.data, guardians=guardians, students=students)
        return family

    def _family(self, plan: GroupPlan, data: dict[str, Any]) -> Family:
        location = self._named(Location, data.get("location", ""))
        if plan.action == CREATED:
            family = services.family_create(
                organization=self.organization,
                name=data["name"],
                status=data.get("status", Family.Status.ACTIVE),
                location=location,
                phones={fid: phone.e164 for fid, phone in plan.group.phones.items()},
                actor=self.actor,
            )
        else:
            family = Family.objects.for_org(self.organization).get(pk=plan.state.ref)
            if set(data) - {"external_id"}:
                services.family_update(
                    family=family,
                    name=data.get("name", family.name),
                    status=data.get("status", family.status),
                    location=location if "location" in data else family.location,
                    notes=family.notes,
                )
        if data.get("external_id"):
            family.external_id = data["external_id"]
            family.save(update_fields=["external_id"])
        return family

    def _do_guardian_add(self, family: Family, data: dict, **_) -> None:
        services.guardian_create(family=family, **data["values"])

    def _do_guardian_set(self, family: Family, data: dict, *, guardians: dict, **_) -> None:
        guardian = guardians[data["id"]]
        values = {
            "first_name": guardian.first_name,
            "last_name": guardian.last_name,
            "email": guardian.email,
            **data["values"],
        }
        services.guardian_update(guardian=guardian, **values)

    def _do_student_add(self, family: Family, data: dict, **_) -> None:
        values = dict(data["values"])
        values["program"] = self._named(Program, values.get("program", ""))
        student = services.student_create(family=family, **values)
        if data["external_id"]:
            student.external_id = data["external_id"]
            student.save(update_fields=["external_id"])

    def _do_student_set(self, family: Family, data: dict, *, students: dict, **_) -> None:
        student = students[data["id"]]
        values = {
            "first_name": student.first_name,
            "last_name": student.last_name,
            "birth_date": student.birth_date,
            "program": student.program,
            "level": student.level,
            "status": student.status,
            **data["values"],
        }
        if "program" in data["values"]:
            values["program"] = self._named(Program, values["program"])
        services.student_update(student=student, **values)
        if data["external_id"]:
            student.external_id = data["external_id"]
            student.save(update_fields=["external_id"])

    def _do_number_put(self, family: Family, data: dict, **_) -> None:
        values: dict[str, Any] = {"number": data["number"]}
        if data["text_capable"] is not None:
            values["text_capable"] = data["text_capable"]
        self._number_put(family, data["field"], values)

    def _do_opt_in(self, family: Family, data: dict, **_) -> None:
        values = {"texts": True, "consent_basis": self.note}
        self._number_put(family, data["field"], values)

    def _number_put(self, family: Family, field_id: int, values: dict) -> None:
        sync.number_put(
            family=family,
            field=self.fields[field_id],
            data=values,
            actor=self.actor,
            source=ConsentEvent.Source.IMPORT,
            actor_label=self.actor_label,
        )

    def load(self, groups: list[FamilyIn]) -> None:
        self.planner.load(groups)
        self.loaded = True
