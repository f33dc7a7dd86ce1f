"""Settings pages (admins only): the landing page, the Family Template and the Family Policies."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from families import selectors, services
from families.forms import PhoneFieldDeleteForm, PhoneFieldForm, PolicyForm, add_service_error
from families.models import PhoneField, PhoneNumber
from families.pages import posted
from smsvoice.tenancy import admin_required


def _field(request: HttpRequest, pk: int) -> PhoneField:
    return get_object_or_404(PhoneField.objects.for_org(request.organization), pk=pk)


@admin_required
def settings_index(request: HttpRequest) -> HttpResponse:
    return render(request, "settings/index.html")


# --- Family Template ---


@admin_required
def phone_field_list(request: HttpRequest) -> HttpResponse:
    return _phone_field_list_page(request, PhoneFieldForm(auto_id="id_add_%s"))


def _phone_field_list_page(
    request: HttpRequest, add_form: PhoneFieldForm, status: int = 200
) -> HttpResponse:
    fields = list(selectors.phone_fields_with_counts(organization=request.organization))
    context = {"fields": fields, "add_form": add_form}
    return render(request, "settings/phone_field_list.html", context, status=status)


@admin_required
@require_POST
def phone_field_add(request: HttpRequest) -> HttpResponse:
    form = PhoneFieldForm(request.POST, auto_id="id_add_%s")
    if form.is_valid():
        try:
            field = services.phone_field_add(organization=request.organization, **form.cleaned_data)
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Added {field.label}: every family now has this field.")
            return redirect("families:phone_field_list")
    return _phone_field_list_page(request, form, status=400)


@admin_required
def phone_field_edit(request: HttpRequest, pk: int) -> HttpResponse:
    field = _field(request, pk)
    initial = {"label": field.label, "required": field.required}
    form = PhoneFieldForm(posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.phone_field_update(field=field, **form.cleaned_data)
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Saved {field.label}.")
            return redirect("families:phone_field_list")
    status = 400 if form.errors else 200
    context = {"field": field, "form": form}
    return render(request, "settings/phone_field_form.html", context, status=status)


@admin_required
@require_POST
def phone_field_move(request: HttpRequest, pk: int) -> HttpResponse:
    field = _field(request, pk)
    try:
        services.phone_field_move(field=field, direction=request.POST.get("direction", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("families:phone_field_list")


@admin_required
def phone_field_delete(request: HttpRequest, pk: int) -> HttpResponse:
    field = _field(request, pk)
    form = PhoneFieldDeleteForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            removed = services.phone_field_delete(
                field=field, confirmed=form.cleaned_data["confirm"], actor=request.user
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            numbers = f" and {removed} number{'s' if removed != 1 else ''}" if removed else ""
            messages.success(request, f"Deleted {field.label}{numbers}.")
            return redirect("families:phone_field_list")
    number_count = PhoneNumber.objects.for_org(request.organization).filter(field=field).count()
    status = 400 if form.errors else 200
    context = {"field": field, "form": form, "number_count": number_count}
    return render(request, "settings/phone_field_delete.html", context, status=status)


# --- Family Policies ---


@admin_required
def policy(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    versions = selectors.policy_versions(organization=organization)
    current = versions[0] if versions else None
    form = PolicyForm(posted(request), initial={"text": current.text if current else ""})
    if request.method == "POST" and form.is_valid():
        try:
            published = services.policy_publish(
                organization=organization, text=form.cleaned_data["text"], actor=request.user
            )
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            if current is not None and published.pk == current.pk:
                messages.info(request, "The policy is unchanged, so no new version was made.")
            else:
                messages.success(request, f"Published version {published.version}.")
            return redirect("families:policy")
    status = 400 if form.errors else 200
    context = {"form": form, "current": current, "versions": versions}
    return render(request, "settings/policy.html", context, status=status)
