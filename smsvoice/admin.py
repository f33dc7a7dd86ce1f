"""The operator's Django admin for organizations and their staff.

The admin sees every organization, so it is for whoever runs the installation (Django
superusers), not for a business's own admins, who use the staff side. Lists stay fast on large
tables: related rows are joined (list_select_related), foreign keys are typed ids
(raw_id_fields) instead of drop-downs of every row, and no full count is run.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Model
from django.forms import BaseInlineFormSet

from families.models import PhoneNumber
from smsvoice.api_keys import api_key_create, api_key_revoke
from smsvoice.models import APIKey, MessageOptions, Organization, StaffMember


def organization_from_parent(formset: BaseInlineFormSet, parent: Model) -> None:
    """Save an inline formset whose new rows take the parent row's organization, so the admin
    never asks for (or lets anyone get wrong) the organization of a child row."""
    for instance in formset.save(commit=False):
        instance.organization_id = parent.organization_id
        instance.save()
    for instance in formset.deleted_objects:
        instance.delete()
    formset.save_m2m()


class StaffInline(admin.TabularInline):
    model = StaffMember
    fields = ("first_name", "last_name", "title", "role", "email", "user", "is_active")
    raw_id_fields = ("user",)
    extra = 0
    show_change_link = True


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "country", "time_zone", "contact_phone", "contact_email", "created_at")
    list_filter = ("country",)
    search_fields = ("name", "contact_email", "contact_phone")
    ordering = ("name",)
    inlines = (StaffInline,)


class StaffPhoneInline(admin.TabularInline):
    model = PhoneNumber
    fk_name = "staff_member"
    fields = ("label", "e164", "text_capable", "sms_opt_in")
    # Opt-in changes only through consent_record, which writes the evidence with it.
    readonly_fields = ("sms_opt_in",)
    extra = 0


@admin.register(StaffMember)
class StaffMemberAdmin(admin.ModelAdmin):
    list_display = ("full_name", "organization", "title", "role", "email", "user", "is_active")
    list_filter = ("role", "is_active", "organization")
    search_fields = ("first_name", "last_name", "email", "title", "user__username")
    list_select_related = ("organization", "user")
    raw_id_fields = ("organization", "user")
    show_full_result_count = False
    inlines = (StaffPhoneInline,)

    @admin.display(description="name", ordering="last_name")
    def full_name(self, obj: StaffMember) -> str:
        return obj.full_name

    def save_formset(self, request, form, formset, change) -> None:
        organization_from_parent(formset, form.instance)


@admin.register(MessageOptions)
class MessageOptionsAdmin(admin.ModelAdmin):
    """Header, footer, signup message and HELP/STOP replies; the business's admins edit them on
    Settings > SMS & Voice > Message options, where the CTIA and CA/AU rules are checked."""

    list_display = ("organization", "header", "footer", "updated_at")
    search_fields = ("organization__name", "header", "footer")
    list_select_related = ("organization",)
    raw_id_fields = ("organization", "updated_by")
    readonly_fields = ("updated_at",)
    show_full_result_count = False


class APIKeyAddForm(forms.ModelForm):
    """A key made by the operator for an organization, in the name of one of its admins."""

    scope_choices = forms.MultipleChoiceField(
        choices=APIKey.Scope.choices, widget=forms.CheckboxSelectMultiple, label="Scopes"
    )

    class Meta:
        model = APIKey
        fields = ("organization", "name", "created_by")

    def clean(self) -> dict:
        cleaned = super().clean()
        member, organization = cleaned.get("created_by"), cleaned.get("organization")
        if member is None or organization is None:
            self.add_error("created_by", "Choose an admin of the organization.")
        elif member.organization_id != organization.pk or not member.is_admin:
            self.add_error("created_by", "Choose an admin of this organization.")
        return cleaned


@admin.register(APIKey)
class APIKeyAdmin(admin.ModelAdmin):
    """Keys are made here like on Settings > API keys (the key shown once, in a message) and
    never show their hash; a key's scopes and secret cannot change, only its name."""

    list_display = ("name", "organization", "prefix", "scopes", "created_at", "last_used_at")
    list_filter = ("scopes",)
    search_fields = ("name", "prefix", "organization__name")
    list_select_related = ("organization",)
    raw_id_fields = ("organization", "created_by")
    show_full_result_count = False
    actions = ("revoke",)
    fields = (
        "organization",
        "name",
        "prefix",
        "scopes",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
        "revoked_by",
    )

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = APIKeyAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("organization", "name", "created_by", "scope_choices")
        return self.fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else tuple(f for f in self.fields if f != "name")

    def save_model(self, request, obj, form, change) -> None:
        if change:
            obj.save(update_fields=["name"])
            return
        key, full = api_key_create(
            organization=form.cleaned_data["organization"],
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scope_choices"],
            created_by=form.cleaned_data["created_by"],
        )
        obj.__dict__.update({k: v for k, v in key.__dict__.items() if not k.startswith("_")})
        obj._state = key._state
        messages.warning(request, f"Copy the new key now; it is not shown again: {full}")

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset) -> None:
        for key in queryset.select_related("created_by"):
            api_key_revoke(key=key, revoked_by=None)
