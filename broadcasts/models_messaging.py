"""The organization's Twilio Messaging Service (sender pool, callbacks, Australia's sender ID).

States::

    pending ──created at Twilio, number in its pool──▶ ready
       │  ▲                                              │
       │  └──────── the next attempt or the sweep ───────┤ (new number: back to pending
       ▼                                                 │  until it is in the pool)
    failed (last_error) ─────────────────────────────────┘
    local: the outbox backend (embedded demo): nothing at Twilio, ready by construction

The row is written before Twilio is called (the intent), so a crash or an error between two
calls leaves something ``messaging_service_ensure`` (a later attempt, the sweep, or the
migrate command) can finish. ``create_attempted_at`` set with no ``sid`` means a create may
have reached Twilio: the next attempt looks for the service by its friendly name before it
creates another.
"""

from __future__ import annotations

from django.db import models

from smsvoice.models import Organization, OrgQuerySet


class MessagingService(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Being set up"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        LOCAL = "local", "Local (demo)"

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="messaging_service"
    )
    sid = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    last_error = models.TextField(blank=True)
    create_attempted_at = models.DateTimeField(null=True, blank=True)
    # The number in its sender pool (the organization's active sending number once it is ready).
    pool_number_sid = models.CharField(max_length=64, blank=True)
    pool_e164 = models.CharField(max_length=16, blank=True)
    # Australia: an alphanumeric sender ID registered on the ACMA register (optional).
    alpha_sender_id = models.CharField(max_length=11, blank=True)
    alpha_sender_confirmed_at = models.DateTimeField(null=True, blank=True)
    alpha_sender_confirmed_by = models.CharField(max_length=150, blank=True)
    alpha_sender_sid = models.CharField(max_length=64, blank=True)
    alpha_sender_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrgQuerySet.as_manager()

    def __str__(self) -> str:
        return self.sid or f"Messaging Service of {self.organization_id} ({self.state})"

    @property
    def friendly_name(self) -> str:
        """Deterministic, so a create whose answer was lost can be found again by name."""
        return f"smsvoice org {self.organization_id}"

    @property
    def alpha_sender_active(self) -> bool:
        return bool(self.alpha_sender_id and self.alpha_sender_sid)
