"""The people directory (families, guardians, students), their phone numbers and consent.

Every model carries its organization directly, so one ``for_org`` filter scopes any query
and every list filter can use an index that starts with the organization.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from smsvoice.models import Organization, OrgQuerySet, StaffMember

EXTERNAL_ID_HELP = "This row's id in another system (a class-management system, a spreadsheet)."


def external_id_field() -> models.CharField:
    """The id another system knows a row by; blank for rows made here. Unique per organization
    when set (a partial unique constraint), so a sync can upsert by it."""
    return models.CharField(max_length=100, blank=True, default="", help_text=EXTERNAL_ID_HELP)


def external_id_unique(model: str) -> models.UniqueConstraint:
    return models.UniqueConstraint(
        fields=["organization", "external_id"],
        condition=~Q(external_id=""),
        name=f"{model}_unique_external_id",
    )


class Location(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    name = models.CharField(max_length=80)

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="location_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class Program(models.Model):
    """A program or class students are enrolled in ("Recreational Gymnastics", "Swim Level 3")."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    name = models.CharField(max_length=80)

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="program_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class Family(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    name = models.CharField(max_length=120)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.SET_NULL)
    notes = models.TextField(blank=True)
    external_id = external_id_field()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "families"
        constraints = [external_id_unique("family")]
        indexes = [
            models.Index(fields=["organization", "name", "id"]),
            models.Index(fields=["organization", "status"]),
            models.Index(fields=["organization", "location"]),
        ]

    def __str__(self) -> str:
        return self.name


class Guardian(models.Model):
    """A parent or carer. With a user they can log in to the parent portal."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="guardians")
    first_name = models.CharField(max_length=60)
    last_name = models.CharField(max_length=60)
    email = models.EmailField(blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="guardian",
    )
    external_id = external_id_field()

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [external_id_unique("guardian")]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Student(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        WAITLIST = "waitlist", "Waitlist"
        INACTIVE = "inactive", "Inactive"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="students")
    first_name = models.CharField(max_length=60)
    last_name = models.CharField(max_length=60)
    birth_date = models.DateField(null=True, blank=True)
    program = models.ForeignKey(Program, null=True, blank=True, on_delete=models.SET_NULL)
    level = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    external_id = external_id_field()

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        constraints = [external_id_unique("student")]
        indexes = [
            models.Index(fields=["organization", "last_name", "first_name", "id"]),
            models.Index(fields=["organization", "program"]),
            models.Index(fields=["organization", "level"]),
            models.Index(fields=["organization", "status"]),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def age(self) -> int | None:
        """Whole years today (in the server's time zone), None without a birth date."""
        if self.birth_date is None:
            return None
        today = timezone.localdate()
        before_birthday = (today.month, today.day) < (self.birth_date.month, self.birth_date.day)
        return today.year - self.birth_date.year - before_birthday


class PhoneField(models.Model):
    """One line of the Family Template: a phone number every family has a place for."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    label = models.CharField(max_length=40)
    order = models.PositiveIntegerField(default=0)
    required = models.BooleanField(default=False)

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "label"], name="phonefield_unique_label"
            )
        ]

    def __str__(self) -> str:
        return self.label


class PhoneNumber(models.Model):
    """A number owned by a family (in one of the template's fields) or by a staff member.

    A family number may name the guardian it belongs to ("Father cell" is David's); merge
    fields greet that guardian (see ``broadcasts.selectors``).

    ``sms_opt_in`` is the owner's consent to texts; it changes only through
    ``families.services.consent_record``, which writes the ConsentEvent in the same
    transaction, so the state and the evidence never disagree. A STOP reply is a separate
    fact (OptOut) because it belongs to the number at the organization's sending number,
    whoever owns it.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    family = models.ForeignKey(
        Family, null=True, blank=True, on_delete=models.CASCADE, related_name="phone_numbers"
    )
    field = models.ForeignKey(PhoneField, null=True, blank=True, on_delete=models.CASCADE)
    staff_member = models.ForeignKey(
        StaffMember, null=True, blank=True, on_delete=models.CASCADE, related_name="phone_numbers"
    )
    # Whose number it is inside the family (the guardian greeted by {first_name}); empty for a
    # household or emergency number. Always a guardian of the same family.
    guardian = models.ForeignKey(
        Guardian,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="phone_numbers",
        help_text="The guardian this family number belongs to, if it is one person's.",
    )
    label = models.CharField(max_length=40, blank=True, help_text="For staff numbers.")
    e164 = models.CharField(max_length=16)
    text_capable = models.BooleanField(default=True)
    sms_opt_in = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["field__order", "id"]
        indexes = [
            models.Index(fields=["organization", "e164"]),
            models.Index(
                fields=["organization", "family"],
                name="phone_family_optin",
                condition=Q(sms_opt_in=True, text_capable=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(family__isnull=False, field__isnull=False, staff_member__isnull=True)
                    | Q(family__isnull=True, field__isnull=True, staff_member__isnull=False)
                ),
                name="phone_has_one_owner",
            ),
            models.UniqueConstraint(fields=["family", "field"], name="phone_one_per_field"),
            models.CheckConstraint(
                condition=Q(e164__regex=r"^\+[1-9][0-9]{6,14}$"), name="phone_is_e164"
            ),
            models.CheckConstraint(
                condition=Q(guardian__isnull=True) | Q(family__isnull=False),
                name="phone_guardian_is_family_number",
            ),
            models.CheckConstraint(
                condition=Q(sms_opt_in=False) | Q(text_capable=True),
                name="phone_opt_in_needs_text_capable",
            ),
        ]

    def __str__(self) -> str:
        return self.e164

    @property
    def owner_label(self) -> str:
        if self.family_id:
            return f"{self.family} — {self.field}"
        return f"{self.staff_member} — {self.label or 'phone'}"


class FamilyPolicy(models.Model):
    """A version of the texting policy parents read before opting in. Editing adds a version."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    version = models.PositiveIntegerField()
    text = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["-version"]
        verbose_name_plural = "family policies"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "version"], name="policy_unique_version"
            )
        ]

    def __str__(self) -> str:
        return f"Policy v{self.version}"


class AppendOnlyQuerySet(OrgQuerySet):
    """Evidence is never edited: bulk updates and deletes are refused in normal use
    (a database trigger backs this up on PostgreSQL)."""

    def update(self, **kwargs):
        raise PermissionError(f"{self.model.__name__} rows are append-only")

    def delete(self):
        raise PermissionError(f"{self.model.__name__} rows are append-only")


class ConsentEvent(models.Model):
    class Channel(models.TextChoices):
        SMS = "sms", "SMS"
        VOICE = "voice", "Voice"

    class Source(models.TextChoices):
        PORTAL = "portal", "Parent portal"
        STAFF_WITH_CONSENT = "staff_with_consent", "Staff, with the customer's consent"
        STAFF = "staff", "Staff"
        KEYWORD = "keyword", "Keyword reply"
        IMPORT = "import", "Import"
        API = "api", "API, with the consent basis stated"
        REPLY = "reply", "Reply in words"
        REVIEW = "review", "Reply, confirmed by staff"
        CARRIER = "carrier", "Carrier opt-out (Twilio 21610)"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT)
    phone_number = models.ForeignKey(
        PhoneNumber,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="consent_events",
    )
    e164 = models.CharField(max_length=16)
    channel = models.CharField(max_length=5, choices=Channel.choices, default=Channel.SMS)
    opted_in = models.BooleanField()
    source = models.CharField(max_length=20, choices=Source.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Who did it in words, kept even if the user is deleted ("Jane Smith (staff)", "+15555550100").
    actor_label = models.CharField(max_length=150, blank=True)
    policy = models.ForeignKey(FamilyPolicy, null=True, blank=True, on_delete=models.PROTECT)
    note = models.TextField(blank=True)
    # The customer's own words (the text of a reply), quoted as received: the evidence.
    words = models.TextField(blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "e164", "-created_at"]),
            models.Index(fields=["phone_number", "-created_at"]),
        ]

    def __str__(self) -> str:
        state = "in" if self.opted_in else "out"
        return f"{self.e164} opted {state} ({self.get_source_display()})"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise PermissionError("ConsentEvent rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("ConsentEvent rows are append-only")


class RevocationReview(models.Model):
    """A reply that may revoke consent but is unclear (``broadcasts.sms.revocation``), kept
    for staff to decide. Decided once, through ``broadcasts.sms.optouts``::

        pending ──revocation_confirm──> opted_out       (consent event, source review)
           └─────revocation_dismiss──> not_revocation   (nothing changes)
    """

    class Verdict(models.TextChoices):
        PENDING = "pending", "Waiting for staff"
        OPTED_OUT = "opted_out", "Opted out (a revocation)"
        NOT_REVOCATION = "not_revocation", "Not a revocation"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    inbound = models.OneToOneField(
        "broadcasts.InboundMessage", on_delete=models.CASCADE, related_name="revocation_review"
    )
    e164 = models.CharField(max_length=16)
    words = models.TextField()
    # Why the classifier could not decide ("“cancel” about a class or a day").
    rule = models.CharField(max_length=120, blank=True)
    names_calls = models.BooleanField(default=False)
    verdict = models.CharField(max_length=16, choices=Verdict.choices, default=Verdict.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by_label = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "verdict", "-created_at"])]

    def __str__(self) -> str:
        return f"Reply {self.inbound_id} from {self.e164} ({self.get_verdict_display()})"


class AutoReply(models.Model):
    """A text the app answered a reply with (HELP, STOP, START, a revocation's confirmation):
    free for the organization (no ledger entry) and kept here as the record of what was said."""

    class Kind(models.TextChoices):
        HELP = "help", "HELP answer"
        STOP = "stop", "STOP confirmation"
        START = "start", "START answer"
        REVOCATION = "revocation", "Revocation confirmation"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    inbound = models.ForeignKey(
        "broadcasts.InboundMessage", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    e164 = models.CharField(max_length=16)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "e164", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} to {self.e164}"


class OptOut(models.Model):
    """A number that replied STOP to this organization's sending number. START deletes it;
    both moves are recorded as ConsentEvents (source keyword)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    e164 = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "e164"], name="optout_unique_number")
        ]

    def __str__(self) -> str:
        return self.e164


# The CSV import's rows (issue 14) live in their own module, registered with this app.
from families.importing.models import (  # noqa: E402, F401
    DirectoryImport,
    ImportMapping,
    ImportReportLine,
)
