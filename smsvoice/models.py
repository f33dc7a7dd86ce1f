"""Tenancy: the organization every row belongs to, and the staff who work for it."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class OrgQuerySet(models.QuerySet):
    """Every tenant-owned model's queryset: the one way to scope a query to an organization."""

    def for_org(self, organization: Organization) -> OrgQuerySet:
        return self.filter(organization=organization)


class Organization(models.Model):
    class Country(models.TextChoices):
        US = "US", "United States"
        CA = "CA", "Canada"
        AU = "AU", "Australia"

    name = models.CharField(max_length=120)
    country = models.CharField(max_length=2, choices=Country.choices, default=Country.US)
    time_zone = models.CharField(max_length=64, default="America/New_York")
    # Used in HELP replies and on the parent portal: who to contact about the texts.
    contact_phone = models.CharField(max_length=20, blank=True)
    contact_email = models.EmailField(blank=True)
    # Canada (CASL): the family policy must give the business's mailing address.
    mailing_address = models.TextField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    @property
    def voice_allowed(self) -> bool:
        return self.country in (self.Country.US, self.Country.CA)


class StaffMember(models.Model):
    """A person who works for the organization. With a user they can log in to the staff side;
    with phone numbers they can receive broadcasts like families do."""

    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        STAFF = "staff", "Staff"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="staff")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="staff_member",
    )
    first_name = models.CharField(max_length=60)
    last_name = models.CharField(max_length=60)
    title = models.CharField(max_length=80, blank=True)
    email = models.EmailField(blank=True)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.STAFF)
    is_active = models.BooleanField(default=True)
    # Permissions (admins have both whatever these say): send texts is compose, broadcasts and
    # replies; view text logs is the messenger, the audit log and the outbox. Existing staff
    # and new staff have both unless an admin turns them off (README, Conversations).
    can_send_texts = models.BooleanField(default=True, verbose_name="Can send texts")
    can_view_text_logs = models.BooleanField(default=True, verbose_name="Can view text logs")
    # An hourly email of new conversations (the sender and the first line only).
    conversation_digest = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name"]
        indexes = [models.Index(fields=["organization", "last_name", "first_name"])]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN

    @property
    def may_send_texts(self) -> bool:
        return self.is_admin or self.can_send_texts

    @property
    def may_view_text_logs(self) -> bool:
        return self.is_admin or self.can_view_text_logs


class MessageOptions(models.Model):
    """An organization's message options (Settings > SMS & Voice > Message options).

    The header is put before and the footer after every broadcast text (and counted in its
    parts); the signup message is sent once to a number when it becomes opted in. A blank
    ``signup_message``, ``help_reply`` or ``stop_reply`` means the default text built from
    the organization's name and contact (``broadcasts.sms.ctia``), so renaming the business
    changes them too. Read them through ``broadcasts.sms.ctia`` (``message_options_for``,
    ``help_reply_text``, ``stop_reply_text``, ``signup_text``).
    """

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="message_options"
    )
    header = models.CharField(max_length=50, blank=True)
    footer = models.CharField(max_length=50, blank=True)
    signup_message = models.CharField(max_length=160, blank=True)
    # What the texts are for, in the HELP reply and the default signup message.
    purpose = models.CharField(max_length=80, blank=True, default="class updates and closures")
    help_reply = models.CharField(max_length=320, blank=True)
    stop_reply = models.CharField(max_length=320, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "message options"

    def __str__(self) -> str:
        return f"Message options of {self.organization}"



class APIKey(models.Model):
    """A key another system calls the API with: ``Authorization: Bearer smsv_<prefix>_<secret>``.

    Only the prefix (to find the row, and to show in the list) and the SHA-256 of the whole key
    are stored; the key itself is shown once, when it is made. The secret is 256 random bits,
    so a fast hash is enough (no password stretching needed). A revoked key is refused from
    the next request on. Scopes: read (GET), write (create, update, deactivate directory rows),
    send (broadcasts).
    """

    class Scope(models.TextChoices):
        READ = "read", "Read"
        WRITE = "write", "Write"
        SEND = "send", "Send"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    # Space-separated Scope values ("read write"), like OAuth scopes.
    scopes = models.CharField(max_length=40)
    created_by = models.ForeignKey(
        StaffMember, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Updated at most once a minute (API_KEY_LAST_USED_SECONDS), not on every request.
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        StaffMember, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
