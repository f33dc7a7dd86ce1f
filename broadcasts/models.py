"""Broadcasts, their recipients, the audit log, the sending number and the outbox.

Recipient states::

    pending ──claim (lease)──▶ sending ──accepted──▶ sent ──callback──▶ delivered
       │  ▲                      │                     └──callback──▶ undelivered | failed (refund)
       │  └─back-pressure, retry,┤
       │    lease expired and    └──permanent / attempts used up──▶ failed (refund)
       │    not at the provider
       ├──STOP before it went out / broadcast cancelled──▶ skipped (refund)
       └──still unsent when the broadcast's validity ends──▶ failed (refund)

Numbers left out when the broadcast was created are stored as ``excluded`` with the reason,
cost nothing and are never sent. Every move is a conditional update (on the status, and for
a worker on its lease token), so two workers never both win the same transition.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from families.models import AppendOnlyQuerySet, Family, Student
from smsvoice.models import Organization, OrgQuerySet, StaffMember


def default_messages_per_second() -> int:
    return settings.SMS_DEFAULT_MPS


class SendingNumber(models.Model):
    """The organization's phone number that texts and calls go out from (and replies come to)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        RELEASED = "released", "Released"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    e164 = models.CharField(max_length=16)
    provider_sid = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    messages_per_second = models.PositiveIntegerField(default=default_messages_per_second)
    calls_per_second = models.PositiveIntegerField(default=1)
    # Texts go through this Twilio Messaging Service (its sender pool holds this number).
    messaging_service_sid = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)
    # Released here but still to be taken out of the pool and given back at Twilio (a sweep
    # finishes what a failed call left).
    provider_cleanup = models.BooleanField(default=False)

    objects = OrgQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization"], condition=Q(status="active"), name="one_active_number"
            ),
            # Inbound texts find their organization by the number they were sent to.
            models.UniqueConstraint(
                fields=["e164"], condition=Q(status="active"), name="active_number_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.e164


class Broadcast(models.Model):
    """One send to a selection. Status: queued → sending → done, or cancelled.

    While sending, its recipients wait in the engine's queue of its sender (channel and
    from number): small or urgent broadcasts in the priority lane, ahead of bulk ones; what
    is not sent by ``valid_until`` fails and is refunded.
    """

    class Lane(models.IntegerChoices):
        PRIORITY = 0, "Priority"
        BULK = 1, "Bulk"

    class Channel(models.TextChoices):
        SMS = "sms", "SMS"
        VOICE = "voice", "Voice"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"
        # Voice only: the staff member is recording it by phone; it waits for credits.
        RECORDING = "recording", "Recording"
        WAITING = "waiting", "Waiting for credits"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    channel = models.CharField(max_length=5, choices=Channel.choices, default=Channel.SMS)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    selection_kind = models.CharField(max_length=10)
    selection = models.JSONField(default=dict)
    text = models.TextField(blank=True)
    encoding = models.CharField(max_length=6, blank=True)
    max_parts = models.PositiveSmallIntegerField(default=0)
    sender = models.ForeignKey(StaffMember, null=True, on_delete=models.SET_NULL)
    sender_label = models.CharField(max_length=150)
    from_e164 = models.CharField(max_length=16)
    messaging_service_sid = models.CharField(max_length=64, blank=True)
    urgent = models.BooleanField(default=False)
    lane = models.PositiveSmallIntegerField(choices=Lane.choices, default=Lane.BULK)
    valid_until = models.DateTimeField(null=True, blank=True)
    recipient_count = models.PositiveIntegerField(default=0)
    excluded_count = models.PositiveIntegerField(default=0)
    credits_debited = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-created_at"]),
            models.Index(
                fields=["from_e164", "channel", "lane", "id"],
                name="broadcast_sending",
                condition=Q(status="sending"),
            ),
        ]
        constraints = [
            # What each recipient's (broadcast, organization) key points at (see Recipient).
            models.UniqueConstraint(fields=["id", "organization"], name="broadcast_organization"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} broadcast {self.pk}"

    @property
    def debit_reference(self) -> str:
        return f"broadcast-{self.pk}"


class Recipient(models.Model):
    """One number of a broadcast (see the module docstring for its states).

    A worker that claims it holds a lease: ``lease_token`` (the fencing token every write of
    that worker checks) until ``lease_expires_at``; the sweep reconciles only expired leases.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        UNDELIVERED = "undelivered", "Undelivered"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"
        EXCLUDED = "excluded", "Left out"
        # Voice only: busy or no answer after every retry; charged as dialed.
        UNANSWERED = "unanswered", "Busy or no answer"

    class Reason(models.TextChoices):
        NOT_OPTED_IN = "not_opted_in", "Not opted in to texts"
        NOT_TEXT_CAPABLE = "not_text_capable", "Not a text-capable number"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed by text reply (STOP)"
        NO_NUMBER = "no_number", "No phone number"
        DUPLICATE = "duplicate", "Same number selected more than once"
        CANCELLED = "cancelled", "Broadcast cancelled"
        VOICE_OPTED_OUT = "voice_opt_out", "Asked not to be called (pressed 9)"
        OWN_NUMBER = "own_number", "The organization's own sending number"

    REFUNDABLE = (Status.FAILED, Status.UNDELIVERED, Status.SKIPPED)

    # On PostgreSQL the database checks a recipient's broadcast, organization and family once
    # per statement, not by foreign keys checked row by row (migration 0012, triggers): the
    # broadcast must be of the recipient's organization, and so must the family (a tenancy
    # guarantee, whatever wrote the row), and neither can be deleted under its recipients.
    # Foreign keys checked and share-locked the same broadcast 75,000 times and 50,000
    # families one by one at the commit of one 50,000-number broadcast: its create took
    # 4.35 s with them and 3.4 s with the triggers (medians, one bench database, alternating).
    # Django still cascades and detaches.
    # The broadcast is indexed by (broadcast, status) and the engine's indexes, which start
    # with it; the organization by (organization, e164), which the organization-wide lookups
    # of a number (its conversation, whether its signup message is due) filter by.
    broadcast = models.ForeignKey(
        Broadcast,
        on_delete=models.CASCADE,
        related_name="recipients",
        db_index=False,
        db_constraint=False,
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    e164 = models.CharField(max_length=16, blank=True)
    family = models.ForeignKey(
        Family, null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False
    )
    # NULL in nearly every row of a family broadcast: indexed only where set (below), which
    # is all that deleting a student or staff member looks up (``… IN (ids)``).
    student = models.ForeignKey(
        Student, null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )
    staff_member = models.ForeignKey(
        StaffMember, null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )
    owner_label = models.CharField(max_length=200)
    text = models.TextField(blank=True)
    parts = models.PositiveSmallIntegerField(default=0)
    credits = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=20, choices=Reason.choices, blank=True)
    error_code = models.CharField(max_length=20, blank=True)
    error_message = models.CharField(max_length=300, blank=True)
    # NULL until the provider accepts it, so the unique constraint ignores unsent rows.
    provider_sid = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.BigIntegerField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["broadcast", "status"]),
            # The engine's queue: a broadcast's due recipients, and expired leases.
            models.Index(
                fields=["broadcast", "next_attempt_at", "id"],
                name="recipient_due",
                condition=Q(status="pending"),
            ),
            models.Index(
                fields=["lease_expires_at"], name="recipient_lease", condition=Q(status="sending")
            ),
            models.Index(fields=["organization", "e164"], name="recipient_org_number"),
            models.Index(
                fields=["student"], name="recipient_student", condition=Q(student__isnull=False)
            ),
            models.Index(
                fields=["staff_member"],
                name="recipient_staff_member",
                condition=Q(staff_member__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["provider_sid"],
                condition=Q(provider_sid__isnull=False),
                name="recipient_provider_sid_unique",
            ),
            # The same number is messaged once per broadcast, whoever it belongs to.
            models.UniqueConstraint(
                fields=["broadcast", "e164"],
                condition=~Q(status="excluded"),
                name="recipient_number_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.e164 or self.owner_label} ({self.status})"

    @property
    def refund_reference(self) -> str:
        return f"recipient-{self.pk}"


class AuditLogEntry(models.Model):
    """One row per message the carrier accepted: who sent what to whom, when, and its cost."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT)
    broadcast = models.ForeignKey(Broadcast, on_delete=models.PROTECT, related_name="audit")
    recipient = models.OneToOneField(Recipient, on_delete=models.PROTECT, related_name="audit")
    channel = models.CharField(max_length=5, choices=Broadcast.Channel.choices)
    sender = models.ForeignKey(StaffMember, null=True, on_delete=models.SET_NULL)
    sender_label = models.CharField(max_length=150)
    e164 = models.CharField(max_length=16)
    family = models.ForeignKey(Family, null=True, blank=True, on_delete=models.SET_NULL)
    student = models.ForeignKey(Student, null=True, blank=True, on_delete=models.SET_NULL)
    staff_member = models.ForeignKey(
        StaffMember, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    owner_label = models.CharField(max_length=200)
    text = models.TextField()
    parts = models.PositiveSmallIntegerField()
    credits = models.PositiveIntegerField()
    provider_sid = models.CharField(max_length=64)
    sent_at = models.DateTimeField()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-sent_at", "-id"]
        verbose_name_plural = "audit log entries"
        indexes = [
            models.Index(fields=["organization", "-sent_at"]),
            models.Index(fields=["organization", "family", "-sent_at"]),
            models.Index(fields=["organization", "sender", "-sent_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.e164} at {self.sent_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise PermissionError("Audit log entries are append-only")
        super().save(*args, **kwargs)


class InboundMessage(models.Model):
    """Every text a phone sent to a sending number: keywords and the rest (which get no reply)."""

    organization = models.ForeignKey(Organization, null=True, on_delete=models.CASCADE)
    from_e164 = models.CharField(max_length=16)
    to_e164 = models.CharField(max_length=16)
    body = models.TextField(blank=True)
    keyword = models.CharField(max_length=10, blank=True)
    provider_sid = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["organization", "-received_at"])]

    def __str__(self) -> str:
        return f"{self.from_e164}: {self.body[:30]}"


class OutboxMessage(models.Model):
    """The embedded default's provider: texts and calls recorded instead of sent."""

    class Kind(models.TextChoices):
        SMS = "sms", "Text"
        CALL = "call", "Call"

    kind = models.CharField(max_length=4, choices=Kind.choices, default=Kind.SMS)
    sid = models.CharField(max_length=64, unique=True)
    from_e164 = models.CharField(max_length=16)
    to_e164 = models.CharField(max_length=16)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=400, blank=True)
    status_callback = models.CharField(max_length=400, blank=True)
    status = models.CharField(max_length=12, default="sent")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to_e164}"


class DeliveryReceipt(models.Model):
    """Every delivery status callback the provider sent, kept as it came.

    A callback can arrive before the worker has written the message's id on its recipient
    (the provider is fast, the worker writes in batches); keeping the receipt lets the worker
    apply it when it records the id, so no final status is lost.
    """

    provider_sid = models.CharField(max_length=64)
    status = models.CharField(max_length=12)
    error_code = models.CharField(max_length=20, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["provider_sid"])]

    def __str__(self) -> str:
        return f"{self.provider_sid}: {self.status}"


# --- Voice broadcasts (US and Canada) ---------------------------------------------------------


class VoiceMessage(models.Model):
    """What a voice broadcast says: a recording made by phone, or text read out by a voice.

    ``seconds`` is what each number dialed is charged by (1 credit per started minute): the
    recording's length, or for text-to-speech an estimate from the number of words.
    """

    class Source(models.TextChoices):
        RECORDING = "recording", "Recorded by phone"
        TTS = "tts", "Text to speech"

    broadcast = models.OneToOneField(Broadcast, on_delete=models.CASCADE, related_name="voice")
    source = models.CharField(max_length=10, choices=Source.choices)
    recording_url = models.CharField(max_length=400, blank=True)
    recording_sid = models.CharField(max_length=64, blank=True)
    seconds = models.PositiveIntegerField(default=0)
    tts_voice = models.CharField(max_length=40, blank=True)
    tts_language = models.CharField(max_length=10, blank=True)
    # Why a recorded broadcast waits instead of going out (credits short…), in words for staff.
    waiting_reason = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return f"{self.get_source_display()} ({self.seconds}s)"


class VoiceRecordingCall(models.Model):
    """A call from the system to a staff member, driven by Twilio's requests for TwiML: to
    record a broadcast, or to hear a text-to-speech message before sending it.

    Recording::

        calling ──answered──▶ waiting_for_hello ──speech / key──▶ recording ──Record──▶ recorded
           │                        │                              ▲    │                 │ │ │
           │                        └──hang up──▶ cancelled        └─2──┼─────────────────┘ │ │
           └──busy / no answer / voicemail / error──▶ failed            └─hang up─▶ sending ◀─┘ │
                                                      cancelled ◀──────── * ────────────────────┘
                                                      (3 or hang up while recorded ──▶ sending)

    Preview: calling ──answered──▶ playing ──hang up──▶ ended (or failed).

    The call is charged once, when it ends, from its duration (``charged_at``); a recording is
    dispatched once the call has ended in ``sending`` (the broadcast leaves ``recording``).
    """

    class Purpose(models.TextChoices):
        RECORD = "record", "Record a broadcast"
        PREVIEW = "preview", "Hear a text-to-speech message"

    class Status(models.TextChoices):
        CALLING = "calling", "Calling"
        WAITING_FOR_HELLO = "waiting_for_hello", "Waiting for hello"
        RECORDING = "recording", "Recording"
        RECORDED = "recorded", "Recorded"
        SENDING = "sending", "Sending"
        PLAYING = "playing", "Playing the message"
        ENDED = "ended", "Ended"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    broadcast = models.ForeignKey(
        Broadcast, null=True, blank=True, on_delete=models.CASCADE, related_name="recording_calls"
    )
    staff_member = models.ForeignKey(StaffMember, null=True, on_delete=models.SET_NULL)
    purpose = models.CharField(max_length=8, choices=Purpose.choices, default=Purpose.RECORD)
    # In the TwiML URLs: Twilio's signature proves the request, the token names the call.
    token = models.CharField(max_length=64, unique=True)
    to_e164 = models.CharField(max_length=16)
    from_e164 = models.CharField(max_length=16)
    sid = models.CharField(max_length=64, null=True, blank=True, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CALLING)
    say_text = models.TextField(blank=True)
    say_voice = models.CharField(max_length=40, blank=True)
    say_language = models.CharField(max_length=10, blank=True)
    recording_url = models.CharField(max_length=400, blank=True)
    recording_sid = models.CharField(max_length=64, blank=True)
    recording_seconds = models.PositiveIntegerField(default=0)
    provider_status = models.CharField(max_length=12, blank=True)
    answered_by = models.CharField(max_length=20, blank=True)
    call_seconds = models.PositiveIntegerField(default=0)
    credits_charged = models.PositiveIntegerField(default=0)
    # Charged when the balance could not cover the call; collected before the broadcast goes.
    credits_unpaid = models.PositiveIntegerField(default=0)
    error_message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    charged_at = models.DateTimeField(null=True, blank=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["created_at"], name="recording_call_open", condition=Q(charged_at=None)
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} call to {self.to_e164} ({self.status})"

    @property
    def debit_reference(self) -> str:
        return f"voice-recording-call-{self.pk}"


class VoiceCall(models.Model):
    """One call placed to a recipient of a voice broadcast; a retry is a new one.

    queued ──▶ ringing ──▶ in-progress ──▶ completed (answered: human or machine)
       └────────────────────────────────▶ busy | no-answer | failed | canceled

    The row is written before Twilio is asked (the intent) and its id is in the TwiML and
    status URLs, so a callback that beats the worker's write of the sid still finds it, and a
    crash between the two leaves evidence instead of a blind second call.
    """

    FINAL = ("completed", "busy", "no-answer", "failed", "canceled")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    broadcast = models.ForeignKey(Broadcast, on_delete=models.CASCADE, related_name="voice_calls")
    recipient = models.ForeignKey(Recipient, on_delete=models.CASCADE, related_name="voice_calls")
    sid = models.CharField(max_length=64, null=True, blank=True, unique=True)
    status = models.CharField(max_length=12, default="queued")
    answered_by = models.CharField(max_length=20, blank=True)
    duration = models.PositiveIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=20, blank=True)
    error_message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["created_at"], name="voice_call_open", condition=Q(finished_at=None)
            )
        ]

    def __str__(self) -> str:
        return f"call {self.sid or self.pk} ({self.status})"


class VoiceOptOut(models.Model):
    """A number that pressed 9 during a voice broadcast call: no more voice broadcasts from this
    organization. Recorded with a ConsentEvent (channel voice) as evidence."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    e164 = models.CharField(max_length=16)
    broadcast = models.ForeignKey(Broadcast, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "e164"], name="voice_optout_unique_number"
            )
        ]

    def __str__(self) -> str:
        return self.e164


class VoicePreference(models.Model):
    """What a staff member chose last time in the voice dialog: where to call them back, and
    the text-to-speech voice."""

    staff_member = models.OneToOneField(
        StaffMember, on_delete=models.CASCADE, related_name="voice_preference"
    )
    callback_e164 = models.CharField(max_length=16, blank=True)
    tts_voice = models.CharField(max_length=40, blank=True)
    tts_language = models.CharField(max_length=10, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.staff_member}: {self.callback_e164}"


# Issue 11: US carrier registration (its own package; Django finds the models through here).
from broadcasts.registration.models import RegistrationStep, TextingRegistration  # noqa: E402

__all__ = ["RegistrationStep", "TextingRegistration"]

# Issue 11: the organization's Messaging Service (sender pool, Australia's sender ID).
from broadcasts.models_messaging import MessagingService  # noqa: E402

__all__ += ["MessagingService"]


# --- Conversations (their own module, this app's models) ---

from broadcasts.conversations.models import Conversation, ConversationInbound  # noqa: E402

__all__ += ["Conversation", "ConversationInbound"]
