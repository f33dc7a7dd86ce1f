"""Staff views of one family and of any phone number. Thin: they check the organization,
read a form and call one service; the page itself is rendered by ``families.pages``."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from families import services
from families.forms import (
    FamilyCreateForm,
    FamilyForm,
    GuardianForm,
    PhoneSetForm,
    StudentForm,
    TextsOnForm,
    add_service_error,
)
from families.models import Family, Guardian, PhoneField, PhoneNumber, Student
from families.pages import (
    family_page,
    number_display,
    owner_page,
    owner_url,
    posted,
    require_number_access,
)
from families.phones import phone_display
from smsvoice.tenancy import staff_required

# --- Lookups: always through the request's organization, so other ids are 404 ---


def _family(request: HttpRequest, pk: int) -> Family:
    families = Family.objects.for_org(request.organization).select_related(
        "location", "organization"
    )
    return get_object_or_404(families, pk=pk)


def _number(request: HttpRequest, pk: int) -> PhoneNumber:
    numbers = PhoneNumber.objects.for_org(request.organization).select_related(
        "family__organization", "family__location", "staff_member__organization", "field"
    )
    number = get_object_or_404(numbers, pk=pk)
    require_number_access(request, number)
    return number


def _family_url(family: Family, anchor: str = "") -> str:
    return reverse("families:family_detail", args=[family.pk]) + anchor


# --- The family ---


@staff_required
def family_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return family_page(request, _family(request, pk))


@staff_required
def family_create(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    form = FamilyCreateForm(posted(request), organization=organization)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            family = services.family_create(
                organization=organization,
                name=data["name"],
                status=data["status"],
                location=data["location"],
                notes=data["notes"],
                phones=form.phones(),
                actor=request.user,
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Added the {family.name} family.")
            return redirect(_family_url(family))
    status = 400 if form.errors else 200
    context = {"form": form, "family": None}
    return render(request, "families/family_form.html", context, status=status)


@staff_required
def family_edit(request: HttpRequest, pk: int) -> HttpResponse:
    family = _family(request, pk)
    initial = {
        "name": family.name,
        "status": family.status,
        "location": family.location,
        "notes": family.notes,
    }
    form = FamilyForm(posted(request), initial=initial, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        try:
            services.family_update(family=family, **form.cleaned_data)
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, "Saved the family's details.")
            return redirect(_family_url(family))
    status = 400 if form.errors else 200
    context = {"form": form, "family": family}
    return render(request, "families/family_form.html", context, status=status)


# --- The family's numbers, one per Family Template field ---


@staff_required
@require_POST
def family_phone_set(request: HttpRequest, pk: int, field_pk: int) -> HttpResponse:
    family = _family(request, pk)
    field = get_object_or_404(PhoneField.objects.for_org(request.organization), pk=field_pk)
    form = PhoneSetForm(request.POST, auto_id=f"id_f{field.pk}_%s")
    return _family_phone_save(request, family, field, form)


@staff_required
@require_POST
def family_phone_remove(request: HttpRequest, pk: int, field_pk: int) -> HttpResponse:
    family = _family(request, pk)
    field = get_object_or_404(PhoneField.objects.for_org(request.organization), pk=field_pk)
    current = (
        PhoneNumber.objects.for_org(request.organization).filter(family=family, field=field).first()
    )
    # The form keeps showing the number, so a refusal ("… is required") reads right.
    shown = phone_display(current.e164) if current else ""
    form = PhoneSetForm({"number": shown}, auto_id=f"id_f{field.pk}_%s")
    return _family_phone_save(request, family, field, form, raw="")


def _family_phone_save(
    request: HttpRequest,
    family: Family,
    field: PhoneField,
    form: PhoneSetForm,
    raw: str | None = None,
) -> HttpResponse:
    if form.is_valid():
        try:
            number = services.family_phone_set(
                family=family,
                field=field,
                raw=form.cleaned_data["number"] if raw is None else raw,
                text_capable=None,
                actor=request.user,
            )
        except ValidationError as exc:
            form.add_error("number", exc)
        else:
            if number is None:
                messages.success(request, f"Removed the {field.label} number.")
            else:
                messages.success(request, f"Saved {field.label}: {number_display(number)}.")
            return redirect(_family_url(family, f"#field-{field.pk}"))
    return family_page(request, family, bound={("set", field.pk): form}, status=400)


# --- Any number (a family's or a staff member's): text-capable and texting ---


@staff_required
@require_POST
def phone_text_capable(request: HttpRequest, pk: int) -> HttpResponse:
    number = _number(request, pk)
    value = request.POST.get("text_capable")
    if value not in ("0", "1"):
        return HttpResponseBadRequest("Say whether the number can receive texts (0 or 1).")
    services.phone_text_capable_set(
        phone_number=number, text_capable=value == "1", actor=request.user
    )
    if number.text_capable:
        messages.success(request, f"{number_display(number)} is marked as able to receive texts.")
    else:
        messages.success(
            request, f"{number_display(number)} is marked as not able to receive texts."
        )
    return redirect(owner_url(number))


@staff_required
@require_POST
def phone_texts_on(request: HttpRequest, pk: int) -> HttpResponse:
    number = _number(request, pk)
    form = TextsOnForm(request.POST, auto_id=f"id_n{pk}_%s")
    if form.is_valid():
        try:
            services.phone_texts_set_by_staff(
                phone_number=number,
                on=True,
                consent_confirmed=form.cleaned_data["confirm"],
                note=form.cleaned_data["note"],
                actor=request.user,
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Texts are on for {number_display(number)}.")
            return redirect(owner_url(number))
    return owner_page(request, number, bound={("on", number.pk): form})


@staff_required
@require_POST
def phone_texts_off(request: HttpRequest, pk: int) -> HttpResponse:
    number = _number(request, pk)
    services.phone_texts_set_by_staff(phone_number=number, on=False, actor=request.user)
    messages.success(request, f"Texts are off for {number_display(number)}.")
    return redirect(owner_url(number))


# --- Guardians and students ---


def _guardian(request: HttpRequest, family: Family, guardian_pk: int) -> Guardian:
    guardians = Guardian.objects.for_org(request.organization).filter(family=family)
    return get_object_or_404(guardians, pk=guardian_pk)


def _student(request: HttpRequest, family: Family, student_pk: int) -> Student:
    students = Student.objects.for_org(request.organization).filter(family=family)
    return get_object_or_404(students, pk=student_pk)


def _person_form_page(
    request: HttpRequest, family: Family, form, *, kind: str, person=None
) -> HttpResponse:
    context = {"family": family, "form": form, "kind": kind, "person": person}
    status = 400 if form.errors else 200
    return render(request, "families/person_form.html", context, status=status)


@staff_required
def guardian_add(request: HttpRequest, pk: int) -> HttpResponse:
    family = _family(request, pk)
    form = GuardianForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            guardian = services.guardian_create(family=family, **form.cleaned_data)
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Added {guardian.full_name}.")
            return redirect(_family_url(family, "#guardians"))
    return _person_form_page(request, family, form, kind="guardian")


@staff_required
def guardian_edit(request: HttpRequest, pk: int, guardian_pk: int) -> HttpResponse:
    family = _family(request, pk)
    guardian = _guardian(request, family, guardian_pk)
    initial = {f: getattr(guardian, f) for f in GuardianForm.base_fields}
    form = GuardianForm(posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.guardian_update(guardian=guardian, **form.cleaned_data)
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Saved {guardian.full_name}.")
            return redirect(_family_url(family, "#guardians"))
    return _person_form_page(request, family, form, kind="guardian", person=guardian)


@staff_required
def guardian_remove(request: HttpRequest, pk: int, guardian_pk: int) -> HttpResponse:
    family = _family(request, pk)
    guardian = _guardian(request, family, guardian_pk)
    if request.method == "POST":
        services.guardian_delete(guardian=guardian)
        messages.success(request, f"Removed {guardian.full_name} from the family.")
        return redirect(_family_url(family, "#guardians"))
    return _confirm_remove_page(request, family, guardian, kind="guardian")


@staff_required
def student_add(request: HttpRequest, pk: int) -> HttpResponse:
    family = _family(request, pk)
    form = StudentForm(posted(request), organization=request.organization)
    if request.method == "POST" and form.is_valid():
        try:
            student = services.student_create(family=family, **form.cleaned_data)
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Added {student.full_name}.")
            return redirect(_family_url(family, "#students"))
    return _person_form_page(request, family, form, kind="student")


@staff_required
def student_edit(request: HttpRequest, pk: int, student_pk: int) -> HttpResponse:
    family = _family(request, pk)
    student = _student(request, family, student_pk)
    initial = {f: getattr(student, f) for f in StudentForm.base_fields}
    form = StudentForm(posted(request), initial=initial, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        try:
            services.student_update(student=student, **form.cleaned_data)
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Saved {student.full_name}.")
            return redirect(_family_url(family, "#students"))
    return _person_form_page(request, family, form, kind="student", person=student)


@staff_required
def student_remove(request: HttpRequest, pk: int, student_pk: int) -> HttpResponse:
    family = _family(request, pk)
    student = _student(request, family, student_pk)
    if request.method == "POST":
        services.student_delete(student=student)
        messages.success(request, f"Removed {student.full_name} from the family.")
        return redirect(_family_url(family, "#students"))
    return _confirm_remove_page(request, family, student, kind="student")


def _confirm_remove_page(request: HttpRequest, family: Family, person, *, kind: str):
    context = {"family": family, "person": person, "kind": kind}
    return render(request, "families/person_remove.html", context)
