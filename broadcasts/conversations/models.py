"""The conversation of one phone number with one organization, and its inbound texts.

Conversation states::

    (new text) ──▶ unread ──a staff member reads it──▶ open ──staff close it──▶ closed
                     ▲  └────────────staff close it (unread)────────────────────▶ │
                     │                                  │                         │
                     └──────── a new text from the phone (reopens) ◀──────────────┘
                                                        closed ──staff reopen──▶ open

Every move goes through ``broadcasts.conversations.services.conversation_move``, which
refuses the others and makes each one a conditional update on the status it starts from.

The thread is not copied here: it is the audit log's messages to the number (broadcasts and
replies) and the inbound texts linked by ``ConversationInbound``, read together by
``broadcasts.conversations.selectors.thread``. Who the number belongs to is read from the
organization's phone numbers at the time (a number can change hands or be shared).
"""

from __future__ import annotations

from django.db import models

from smsvoice.models import Organization, OrgQuerySet, StaffMember


class Conversation(models.Model):
    class Status(models.TextChoices):
        UNREAD = "unread", "Unread"
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    # (from, to): the moves staff can make; a new text makes any state unread.
    STAFF_MOVES = frozenset(
        {
            (Status.UNREAD, Status.OPEN),
            (Status.UNREAD, Status.CLOSED),
            (Status.OPEN, Status.CLOSED),
            (Status.OPEN, Status.UNREAD),  # "mark unread"
            (Status.CLOSED, Status.OPEN),
        }
    )

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    e164 = models.CharField(max_length=16)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.UNREAD)
    # "Mine": the staff member who answered it first (or took it).
    assignee = models.ForeignKey(
        StaffMember, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    unread_count = models.PositiveIntegerField(default=0)
    # The first line of the last text from the phone, for the list.
    last_text = models.CharField(max_length=160, blank=True)
    last_activity_at = models.DateTimeField()
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    read_by = models.ForeignKey(
        StaffMember, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    # When the email digest told staff about it (once).
    digested_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        app_label = "broadcasts"
        ordering = ["-last_activity_at", "-id"]
        indexes = [
            models.Index(
                fields=["organization", "-last_activity_at"], name="conversation_activity"
            ),
            models.Index(
                fields=["organization"],
                name="conversation_unread",
                condition=models.Q(status="unread"),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "e164"], name="conversation_one_per_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.e164} ({self.status})"


class ConversationInbound(models.Model):
    """An inbound text in its conversation, with what the app answered (keywords)."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="inbound_links"
    )
    inbound = models.OneToOneField(
        "broadcasts.InboundMessage", on_delete=models.CASCADE, related_name="conversation_link"
    )
    answer = models.TextField(blank=True)

    class Meta:
        app_label = "broadcasts"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.conversation_id}: {self.inbound_id}"
