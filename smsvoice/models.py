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
