from __future__ import annotations

from collections.abc import Iterator

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.urls import reverse

from families.models import Guardian
from smsvoice.models import StaffMember


def is_parent_login(user: AbstractBaseUser) -> bool:
    """A guardian's user that is not also a staff login."""
    return (
        Guardian.objects.filter(user=user).exists()
        and not StaffMember.objects.filter(user=user).exists()
    )


class PortalLoginForm(AuthenticationForm):
    """Django's login form, for parents only: a staff login is sent to the staff login."""

    username = forms.CharField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password don't match. Check them and try again, or "
        "reset your password.",
    }

    def clean_username(self) -> str:
        # Logins are stored as lower-case email addresses; phones like to capitalise.
        return self.cleaned_data["username"].strip().lower()

    def confirm_login_allowed(self, user: AbstractBaseUser) -> None:
        super().confirm_login_allowed(user)
        if not is_parent_login(user):
            raise ValidationError(
                "This login is for parents. Staff log in at %(url)s.",
                code="not_a_parent",
                params={"url": reverse("login")},
            )


class PortalPasswordResetForm(PasswordResetForm):
    """Emails a reset link only to parents' logins (staff reset theirs on the staff side)."""

    def get_users(self, email: str) -> Iterator[AbstractBaseUser]:
        return (user for user in super().get_users(email) if is_parent_login(user))


class PhoneForm(forms.Form):
    number = forms.CharField(
        label="Number",
        max_length=40,
        error_messages={"required": "Enter a phone number."},
        widget=forms.TextInput(
            attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel", "size": 16}
        ),
    )
    text_capable = forms.BooleanField(
        label="This number can receive text messages (a mobile)", required=False
    )


class TextsYesForm(forms.Form):
    confirm = forms.BooleanField(
        error_messages={
            "required": "Tick the box to confirm you have read the texting policy and want texts."
        },
    )
    # The version shown on the page, so the evidence names the text the parent read.
    policy_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
