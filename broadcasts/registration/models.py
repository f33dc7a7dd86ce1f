"""What an organization told us for its US carrier registration, and each step's status.

One ``TextingRegistration`` per organization holds the admin's answers (the business, the
campaign, the toll-free verification), saved as drafts until submitted. One
``RegistrationStep`` per organization and kind tracks what Twilio made of it:

- A2P 10DLC (a local number): ``profile`` (Trust Hub customer profile and A2P trust product)
  → ``brand`` (a2p BrandRegistration) → ``campaign`` (Compliance/Usa2p on the Messaging Service)
- toll-free number: ``tollfree`` (Tollfree/Verifications)

Step states (every move goes through ``broadcasts.registration.services.step_move``)::

    draft ──submit──▶ submitted ──Twilio reviewing──▶ in_review ──▶ approved
      │                  │  │                            │            │
      │                  │  └───────────approved────────┼───────────▶│
      │                  ▼                               ▼            ▼ (suspended later)
      └──refused at once─▶ failed ◀─────────────────────┴────────────┘
                            │
                            └──resubmit (after fixing what the reason says)──▶ submitted

A move to the status a step already has changes nothing (callbacks and refreshes replay).
"""

from __future__ import annotations

from django.db import models

from smsvoice.models import Organization, OrgQuerySet


class TextingRegistration(models.Model):
    """The admin's answers, one JSON object per form (validated by the forms on the way in)."""

    class Path(models.TextChoices):
        LOCAL = "10dlc", "A2P 10DLC (local number)"
        TOLLFREE = "tollfree", "Toll-free verification"

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="texting_registration"
    )
    business = models.JSONField(default=dict, blank=True)
    campaign = models.JSONField(default=dict, blank=True)
    tollfree = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrgQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Texting registration of {self.organization}"


class RegistrationStep(models.Model):
    """One step of the registration and what Twilio last said about it."""

    class Kind(models.TextChoices):
        PROFILE = "profile", "Business profile (Trust Hub)"
        BRAND = "brand", "Brand"
        CAMPAIGN = "campaign", "Campaign"
        TOLLFREE = "tollfree", "Toll-free verification"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        IN_REVIEW = "in_review", "In review"
        APPROVED = "approved", "Approved"
        FAILED = "failed", "Failed"

    MOVES: dict[str, frozenset[str]] = {
        Status.DRAFT: frozenset({Status.SUBMITTED, Status.FAILED}),
        Status.SUBMITTED: frozenset({Status.IN_REVIEW, Status.APPROVED, Status.FAILED}),
        Status.IN_REVIEW: frozenset({Status.APPROVED, Status.FAILED}),
        Status.APPROVED: frozenset({Status.FAILED}),
        Status.FAILED: frozenset({Status.SUBMITTED}),
    }

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # Twilio's ids: the main resource (bundle, brand, campaign, verification) and helpers
    # created on the way (end users, trust product…), so a resubmission reuses them.
    provider_sid = models.CharField(max_length=64, blank=True)
    provider_ids = models.JSONField(default=dict, blank=True)
    provider_status = models.CharField(max_length=40, blank=True)
    error_code = models.PositiveIntegerField(null=True, blank=True)
    error_text = models.TextField(blank=True)
    # Fee Twilio charges for this step (US cents), as shown to the admin before submitting.
    fee_cents = models.PositiveIntegerField(default=0)
    submitted_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["organization", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind"], name="one_step_per_kind"),
        ]
        indexes = [
            # The refresh task looks only at steps Twilio is still deciding.
            models.Index(
                fields=["status"],
                name="registration_step_pending",
                condition=models.Q(status__in=["submitted", "in_review"]),
            ),
            models.Index(fields=["provider_sid"], name="registration_step_sid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.get_status_display()}"

    @property
    def waiting(self) -> bool:
        return self.status in (self.Status.SUBMITTED, self.Status.IN_REVIEW)
