"""Staff member pages: the detail page (with their own numbers, managed like a family's), and
creating and editing staff members (admins only)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from families import services
from families.forms import StaffMemberForm, StaffPhoneAddForm, StaffPhoneForm, add_service_error
from families.models import PhoneNumber
from families.pages import can_manage_staff_numbers, number_display, posted, staff_page
from smsvoice.models import StaffMember
from smsvoice.permissions import staff_permissions_set
from smsvoice.tenancy import admin_required, staff_required


def _member(request: HttpRequest, pk: int) -> StaffMember:
    members = StaffMember.objects.for_org(request.organization).select_related(
        "organization", "user"
    )
    return get_object_or_404(members, pk=pk)


def _managed_member(request: HttpRequest, pk: int) -> StaffMember:
    member = _member(request, pk)
    if not can_manage_staff_numbers(request, member):
        raise PermissionDenied("Only an admin or the staff member can change their numbers.")
    return member


def _member_number(request: HttpRequest, member: StaffMember, phone_pk: int) -> PhoneNumber:
    numbers = PhoneNumber.objects.for_org(request.organization).filter(staff_member=member)
    return get_object_or_404(numbers, pk=phone_pk)


def _staff_url(member: StaffMember, anchor: str = "") -> str:
    return reverse("families:staff_detail", args=[member.pk]) + anchor


@staff_required
def staff_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return staff_page(request, _member(request, pk))


@admin_required
def staff_create(request: HttpRequest) -> HttpResponse:
    form = StaffMemberForm(posted(request), initial={"role": StaffMember.Role.STAFF})
    if request.method == "POST" and form.is_valid():
        try:
            data, permissions = _split_permissions(form.cleaned_data)
            member = services.staff_member_create(organization=request.organization, **data)
            staff_permissions_set(staff_member=member, **permissions)
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            note = " and emailed them a link to set a password" if member.user_id else ""
            messages.success(request, f"Added {member.full_name}{note}.")
            return redirect(_staff_url(member))
    return _member_form_page(request, form, member=None)


@admin_required
def staff_edit(request: HttpRequest, pk: int) -> HttpResponse:
    member = _member(request, pk)
    initial = {
        "first_name": member.first_name,
        "last_name": member.last_name,
        "title": member.title,
        "email": member.email,
        "role": member.role,
        "is_active": member.is_active,
        "can_log_in": member.user is not None and member.user.is_active,
        "can_send_texts": member.can_send_texts,
        "can_view_text_logs": member.can_view_text_logs,
    }
    form = StaffMemberForm(posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        had_login = member.user_id is not None
        try:
            data, permissions = _split_permissions(form.cleaned_data)
            services.staff_member_update(staff_member=member, **data)
            staff_permissions_set(staff_member=member, **permissions)
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            new_login = not had_login and member.user_id is not None
            note = " and emailed them a link to set a password" if new_login else ""
            messages.success(request, f"Saved {member.full_name}{note}.")
            return redirect(_staff_url(member))
    return _member_form_page(request, form, member=member)


def _split_permissions(cleaned: dict) -> tuple[dict, dict]:
    names = ("can_send_texts", "can_view_text_logs")
    return {k: v for k, v in cleaned.items() if k not in names}, {k: cleaned[k] for k in names}


def _member_form_page(
    request: HttpRequest, form: StaffMemberForm, *, member: StaffMember | None
) -> HttpResponse:
    status = 400 if form.errors else 200
    context = {"form": form, "member": member}
    return render(request, "families/staff_form.html", context, status=status)


@staff_required
@require_POST
def staff_phone_add(request: HttpRequest, pk: int) -> HttpResponse:
    member = _managed_member(request, pk)
    form = StaffPhoneAddForm(request.POST, auto_id="id_add_%s")
    if form.is_valid():
        try:
            number = services.staff_phone_add(
                staff_member=member,
                raw=form.cleaned_data["number"],
                label=form.cleaned_data["label"].strip(),
                text_capable=form.cleaned_data["text_capable"],
            )
        except ValidationError as exc:
            form.add_error("number", exc)
        else:
            messages.success(request, f"Added {number_display(number)}.")
            return redirect(_staff_url(member, f"#number-{number.pk}"))
    return staff_page(request, member, bound={("add", 0): form}, status=400)


@staff_required
@require_POST
def staff_phone_edit(request: HttpRequest, pk: int, phone_pk: int) -> HttpResponse:
    member = _managed_member(request, pk)
    number = _member_number(request, member, phone_pk)
    form = StaffPhoneForm(request.POST, auto_id=f"id_e{number.pk}_%s")
    if form.is_valid():
        try:
            number = services.staff_phone_update(
                phone_number=number,
                raw=form.cleaned_data["number"],
                label=form.cleaned_data["label"],
                actor=request.user,
            )
        except ValidationError as exc:
            form.add_error("number", exc)
        else:
            messages.success(request, f"Saved {number_display(number)}.")
            return redirect(_staff_url(member, f"#number-{number.pk}"))
    return staff_page(request, member, bound={("edit", number.pk): form}, status=400)


@staff_required
@require_POST
def staff_phone_remove(request: HttpRequest, pk: int, phone_pk: int) -> HttpResponse:
    member = _managed_member(request, pk)
    number = _member_number(request, member, phone_pk)
    services.phone_number_remove(phone_number=number, actor=request.user)
    messages.success(request, f"Removed {number_display(number)}.")
    return redirect(_staff_url(member, "#numbers"))
