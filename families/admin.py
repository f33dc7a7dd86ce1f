"""The operator's Django admin for the people directory.

Evidence stays evidence: consent events, published policy versions and STOP replies are shown
but never added, changed or deleted here (a policy edit publishes a new version on the staff
side; opt-ins change only through consent_record; only the phone's START lifts a STOP). A
number's ``sms_opt_in`` is read-only everywhere for the same reason.

Built for 50,000-family organizations: joins instead of per-row queries, typed ids instead of
drop-downs of every row, no full count of large tables.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from families.importing.models import DirectoryImport, ImportMapping, ImportReportLine
from families.models import (
    AutoReply,
    ConsentEvent,
    Family,
    FamilyPolicy,
    Guardian,
    Location,
    OptOut,
    PhoneField,
    PhoneNumber,
    Program,
    RevocationReview,
    Student,
)
from smsvoice.admin import organization_from_parent


class ViewOnlyAdmin(admin.ModelAdmin):
    """Shown, never written: no add, change or delete, from the admin or its actions."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class NamedInOrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "organization")
    list_filter = ("organization",)
    search_fields = ("name", "organization__name")
    list_select_related = ("organization",)
    raw_id_fields = ("organization",)


@admin.register(Location)
class LocationAdmin(NamedInOrganizationAdmin):
    pass


@admin.register(Program)
class ProgramAdmin(NamedInOrganizationAdmin):
    pass


class GuardianInline(admin.TabularInline):
    model = Guardian
    fields = ("first_name", "last_name", "email", "user")
    raw_id_fields = ("user",)
    extra = 0
    show_change_link = True


class StudentInline(admin.TabularInline):
    model = Student
    fields = ("first_name", "last_name", "birth_date", "program", "level", "status")
    raw_id_fields = ("program",)
    extra = 0
    show_change_link = True


class FamilyPhoneInline(admin.TabularInline):
    model = PhoneNumber
    fk_name = "family"
    fields = ("field", "e164", "text_capable", "sms_opt_in")
    readonly_fields = ("sms_opt_in",)
    raw_id_fields = ("field",)
    extra = 0
    show_change_link = True


@admin.register(Family)
class FamilyAdmin(admin.ModelAdmin):
    list_display = ("name", "organization", "status", "location", "created_at")
    list_filter = ("status", "organization")
    search_fields = ("name",)
    list_select_related = ("organization", "location")
    raw_id_fields = ("organization", "location")
    show_full_result_count = False
    inlines = (GuardianInline, StudentInline, FamilyPhoneInline)

    def save_formset(self, request, form, formset, change) -> None:
        organization_from_parent(formset, form.instance)


@admin.register(Guardian)
class GuardianAdmin(admin.ModelAdmin):
    list_display = ("full_name", "family", "email", "user", "organization")
    list_filter = ("organization",)
    search_fields = ("first_name", "last_name", "email", "user__username")
    list_select_related = ("family", "user", "organization")
    raw_id_fields = ("organization", "family", "user")
    show_full_result_count = False

    @admin.display(description="name", ordering="last_name")
    def full_name(self, obj: Guardian) -> str:
        return obj.full_name


@admin.register(Student)
class StudentAdmin(admin.ModelAdmin):
    list_display = ("full_name", "family", "program", "level", "status", "birth_date")
    list_filter = ("status", "organization")
    search_fields = ("first_name", "last_name", "level")
    list_select_related = ("family", "program")
    raw_id_fields = ("organization", "family", "program")
    show_full_result_count = False

    @admin.display(description="name", ordering="last_name")
    def full_name(self, obj: Student) -> str:
        return obj.full_name


@admin.register(PhoneField)
class PhoneFieldAdmin(admin.ModelAdmin):
    list_display = ("label", "organization", "order", "required")
    list_filter = ("organization",)
    search_fields = ("label",)
    list_select_related = ("organization",)
    raw_id_fields = ("organization",)


@admin.register(PhoneNumber)
class PhoneNumberAdmin(admin.ModelAdmin):
    list_display = ("e164", "owner_label", "text_capable", "sms_opt_in", "organization")
    list_filter = ("sms_opt_in", "text_capable", "organization")
    search_fields = ("e164",)
    list_select_related = ("organization", "family", "field", "staff_member")
    raw_id_fields = ("organization", "family", "field", "staff_member")
    readonly_fields = ("sms_opt_in", "created_at", "updated_at")
    show_full_result_count = False

    @admin.display(description="owner")
    def owner_label(self, obj: PhoneNumber) -> str:
        return obj.owner_label


@admin.register(FamilyPolicy)
class FamilyPolicyAdmin(ViewOnlyAdmin):
    list_display = ("__str__", "organization", "created_by", "created_at")
    list_filter = ("organization",)
    search_fields = ("text",)
    list_select_related = ("organization", "created_by")


@admin.register(ConsentEvent)
class ConsentEventAdmin(ViewOnlyAdmin):
    list_display = (
        "created_at",
        "e164",
        "opted_in",
        "channel",
        "source",
        "actor_label",
        "policy",
        "organization",
    )
    list_filter = ("opted_in", "source", "channel", "organization")
    search_fields = ("e164", "actor_label", "note", "words")
    list_select_related = ("organization", "policy")
    show_full_result_count = False


@admin.register(OptOut)
class OptOutAdmin(ViewOnlyAdmin):
    list_display = ("e164", "organization", "created_at")
    list_filter = ("organization",)
    search_fields = ("e164",)
    list_select_related = ("organization",)
    show_full_result_count = False


@admin.register(RevocationReview)
class RevocationReviewAdmin(ViewOnlyAdmin):
    """Staff decide on the staff side (Broadcasts > Replies to review), never here."""

    list_display = ("created_at", "e164", "words", "rule", "verdict", "decided_by_label")
    list_filter = ("verdict", "organization")
    search_fields = ("e164", "words")
    list_select_related = ("organization",)
    show_full_result_count = False


@admin.register(AutoReply)
class AutoReplyAdmin(ViewOnlyAdmin):
    list_display = ("created_at", "e164", "kind", "text", "organization")
    list_filter = ("kind", "organization")
    search_fields = ("e164", "text")
    list_select_related = ("organization",)
    show_full_result_count = False


@admin.register(DirectoryImport)
class DirectoryImportAdmin(ViewOnlyAdmin):
    """An import is the record behind its consent events (they name its file and basis), so it
    is shown, never changed. The file's text and the row-by-row preview are left off the page
    (up to 20 MB); the admin's Families > Import page has the report."""

    list_display = ("created_at", "file_name", "organization", "status", "row_count")
    list_filter = ("status", "organization")
    search_fields = ("file_name", "uploaded_by_label", "organization__name")
    list_select_related = ("organization",)
    exclude = ("content", "preview")
    show_full_result_count = False


@admin.register(ImportReportLine)
class ImportReportLineAdmin(ViewOnlyAdmin):
    list_display = ("directory_import", "row", "action", "family_name", "message")
    list_filter = ("action",)
    search_fields = ("family_name", "message")
    list_select_related = ("directory_import",)
    raw_id_fields = ("directory_import", "family")
    show_full_result_count = False


@admin.register(ImportMapping)
class ImportMappingAdmin(admin.ModelAdmin):
    """The columns remembered from an organization's last import (the next file comes
    pre-mapped); editing or deleting it only changes the next guess."""

    list_display = ("organization", "date_order", "updated_at")
    search_fields = ("organization__name",)
    list_select_related = ("organization",)
    raw_id_fields = ("organization",)
    readonly_fields = ("updated_at",)
    show_full_result_count = False
