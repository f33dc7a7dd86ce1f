from django.contrib import admin

from portal.models import Invitation


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """View only: invitations are sent from the staff family page, which also sends the email."""

    list_display = ("email", "guardian", "organization", "sent_at", "accepted_at")
    list_filter = ("organization",)
    search_fields = ("email", "guardian__last_name", "guardian__first_name")
    list_select_related = ("guardian", "organization")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
