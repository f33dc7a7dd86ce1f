"""Settings > API keys (admins): make a key (shown once), see the keys, revoke one."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from smsvoice.api_keys import api_key_create, api_key_revoke, api_keys_of
from smsvoice.models import APIKey
from smsvoice.tenancy import admin_required

SCOPE_HELP = {
    APIKey.Scope.READ: "Read the directory, broadcasts and credits (GET).",
    APIKey.Scope.WRITE: "Create, update and deactivate families, guardians, students, numbers.",
    APIKey.Scope.SEND: "Send text broadcasts (spends credits).",
}


class APIKeyForm(forms.Form):
    name = forms.CharField(
        max_length=80,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Nightly sync from iClassPro"}),
        error_messages={"required": "Give the key a name (e.g. Nightly sync from iClassPro)."},
    )
    scopes = forms.MultipleChoiceField(
        choices=[(s.value, f"{s.label}: {SCOPE_HELP[s]}") for s in APIKey.Scope],
        widget=forms.CheckboxSelectMultiple,
        initial=[APIKey.Scope.READ, APIKey.Scope.WRITE],
        error_messages={"required": "Choose at least one scope."},
    )


def _page(request: HttpRequest, form: APIKeyForm, *, new_key: str = "", status: int = 200):
    keys = api_keys_of(organization=request.organization)
    context = {
        "form": form,
        "keys": keys,
        "new_key": new_key,
        "rate_per_minute": settings.API_KEY_RATE_PER_MINUTE,
    }
    response = render(request, "settings/api_keys.html", context, status=status)
    if new_key:
        response["Cache-Control"] = "no-store"  # the key is in this page only, once
    return response


@admin_required
def api_key_list(request: HttpRequest) -> HttpResponse:
    return _page(request, APIKeyForm())


@admin_required
@require_POST
def api_key_add(request: HttpRequest) -> HttpResponse:
    form = APIKeyForm(request.POST)
    if form.is_valid():
        try:
            _key, full = api_key_create(
                organization=request.organization,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                created_by=request.staff_member,
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            return _page(request, APIKeyForm(), new_key=full)
    return _page(request, form, status=400)


@admin_required
@require_POST
def api_key_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(APIKey.objects.for_org(request.organization), pk=pk)
    api_key_revoke(key=key, revoked_by=request.staff_member)
    messages.success(request, f"Revoked {key.name}: requests with it are refused from now on.")
    return redirect("families:api_keys")
