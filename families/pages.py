"""Rendering of the family page and the staff page, shared by every view that shows them:
a form that fails re-renders the whole page with its errors in place (status 400), so the
views of any number (family or staff) use the same code."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from families import selectors
from families.forms import PhoneSetForm, StaffPhoneAddForm, StaffPhoneForm, TextsOnForm
from families.models import Family, PhoneNumber
from families.phones import phone_display
from smsvoice.models import StaffMember

# Bound forms that failed, keyed by (what, row id): ("set", field id), ("on", number id),
# ("edit", number id), ("add", 0).
Bound = dict[tuple[str, int], Form]


def can_manage_staff_numbers(request: HttpRequest, member: StaffMember) -> bool:
    """Admins manage every staff member's numbers; staff manage their own."""
    return request.staff_member.is_admin or request.staff_member.pk == member.pk


def require_number_access(request: HttpRequest, number: PhoneNumber) -> None:
    if number.staff_member_id and not can_manage_staff_numbers(request, number.staff_member):
        raise PermissionDenied("Only an admin or the staff member can change this number.")


def owner_url(number: PhoneNumber) -> str:
    if number.family_id:
        return reverse("families:family_detail", args=[number.family_id]) + f"#number-{number.pk}"
    return reverse("families:staff_detail", args=[number.staff_member_id]) + f"#number-{number.pk}"


def attach_number_forms(view: selectors.NumberView, bound: Bound) -> None:
    pk = view.number.pk
    view.texts_on_form = bound.get(("on", pk)) or TextsOnForm(auto_id=f"id_n{pk}_%s")
    if view.number.staff_member_id:
        view.edit_form = bound.get(("edit", pk)) or StaffPhoneForm(
            initial={"label": view.number.label, "number": view.display},
            auto_id=f"id_e{pk}_%s",
        )


def focus_errors(bound: Bound) -> None:
    """Put the cursor in the first field that has an error: the browser scrolls to it, so a
    refused number far down the page is not missed."""
    for form in bound.values():
        for name in form.errors:
            if name in form.fields:
                form.fields[name].widget.attrs["autofocus"] = True
                return


def family_page(
    request: HttpRequest, family: Family, *, bound: Bound | None = None, status: int = 200
) -> HttpResponse:
    bound = bound or {}
    focus_errors(bound)
    page = selectors.family_detail_data(family=family)
    for row in page.rows:
        initial = {"number": row.number.display} if row.number else {}
        row.set_form = bound.get(("set", row.field.pk)) or PhoneSetForm(
            initial=initial, auto_id=f"id_f{row.field.pk}_%s"
        )
        if row.number:
            attach_number_forms(row.number, bound)
    context = {"page": page, "family": family}
    return render(request, "families/family_detail.html", context, status=status)


def staff_page(
    request: HttpRequest, member: StaffMember, *, bound: Bound | None = None, status: int = 200
) -> HttpResponse:
    bound = bound or {}
    focus_errors(bound)
    page = selectors.staff_detail_data(staff_member=member)
    for view in page.numbers:
        attach_number_forms(view, bound)
    context = {
        "page": page,
        "member": member,
        "can_manage": can_manage_staff_numbers(request, member),
        "add_form": bound.get(("add", 0)) or StaffPhoneAddForm(auto_id="id_add_%s"),
    }
    return render(request, "families/staff_detail.html", context, status=status)


def owner_page(
    request: HttpRequest, number: PhoneNumber, *, bound: Bound, status: int = 400
) -> HttpResponse:
    if number.family_id:
        return family_page(request, number.family, bound=bound, status=status)
    return staff_page(request, number.staff_member, bound=bound, status=status)


def number_display(number: PhoneNumber) -> str:
    return phone_display(number.e164)


def posted(request: HttpRequest):
    """The submitted data on POST (even when empty, so an empty form is validated), else None."""
    return request.POST if request.method == "POST" else None
