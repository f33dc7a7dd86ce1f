"""The operator's Django admin for organizations and their staff.

The admin sees every organization, so it is for whoever runs the installation (Django
superusers), not for a business's own admins, who use the staff side. Lists stay fast on large
tables: related rows are joined (list_select_related), foreign keys are typed ids
(raw_id_fields) instead of drop-downs of every row, and no full count is run.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Model
from django.forms import BaseInlineFormSet

from families.models import PhoneNumber
from smsvoice.models import Organization, StaffMember


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
