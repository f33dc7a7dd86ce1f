"""Invitations to the parent portal."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from families.models import Guardian
from smsvoice.models import Organization, OrgQuerySet


class Invitation(models.Model):
    """One invitation email sent by staff to a guardian.

    Its link lets the guardian choose a password once: it stops working when it is used
    (``accepted_at``), when a newer invitation is sent to the same guardian, when the user's
    password changes any other way, or after ``portal.services.INVITATION_MAX_AGE``.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    guardian = models.ForeignKey(
        Guardian, on_delete=models.CASCADE, related_name="portal_invitations"
    )
    email = models.EmailField(help_text="Where the invitation was sent.")
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["-sent_at", "-id"]
        indexes = [models.Index(fields=["guardian", "-sent_at"])]

    def __str__(self) -> str:
        return f"Invitation to {self.email}"
