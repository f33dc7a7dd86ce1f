"""Forms of the credits pages. Quantities arrive as text so that "abc" gets the same clear
message as 0 or 10**9, and nothing is bought."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils import timezone

from credits.models import LedgerEntry

CUSTOM = "custom"


def _quantity_message() -> str:
    return (
        f"Choose a pack, or a whole number of credits from {settings.CREDIT_CUSTOM_MIN:,} "
        f"to {settings.CREDIT_CUSTOM_MAX:,}."
    )


class BuyForm(forms.Form):
    """A pack, or "custom" with a number of credits."""

    pack = forms.CharField(required=False)
    custom_credits = forms.CharField(required=False, max_length=12)
    token = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def clean(self) -> dict:
        data = super().clean()
        data["credits"] = self._credits(data.get("pack", ""), data.get("custom_credits", ""))
        return data

    def _credits(self, pack: str, custom: str) -> int:
        if pack != CUSTOM:
            if pack.isdigit() and int(pack) in settings.CREDIT_PACKS:
                return int(pack)
            raise forms.ValidationError(_quantity_message(), code="quantity")
        digits = custom.strip().replace(",", "")
        low, high = settings.CREDIT_CUSTOM_MIN, settings.CREDIT_CUSTOM_MAX
        if not digits.isdigit() or not (low <= int(digits) <= high):
            self.add_error("custom_credits", _quantity_message())
            return 0
        return int(digits)


class TestCardForm(forms.Form):
    """Test mode only (localstripe): a card number typed here, never a real card."""

    number = forms.CharField(
        label="Test card number",
        max_length=23,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    exp_month = forms.IntegerField(label="Expiry month", min_value=1, max_value=12)
    exp_year = forms.IntegerField(label="Expiry year", min_value=0, max_value=2099)
    cvc = forms.CharField(label="CVC", max_length=4)

    def clean_number(self) -> str:
        number = self.cleaned_data["number"].replace(" ", "").replace("-", "")
        if not number.isdigit() or len(number) != 16:
            raise forms.ValidationError(
                "Enter the 16 digits of a test card, like 4242 4242 4242 4242."
            )
        return number

    def clean_exp_year(self) -> int:
        year = self.cleaned_data["exp_year"]
        return year + 2000 if year < 100 else year

    def clean_cvc(self) -> str:
        cvc = self.cleaned_data["cvc"].strip()
        if not cvc.isdigit() or len(cvc) != 3:
            raise forms.ValidationError("Enter the 3 digits of the security code.")
        return cvc

    def clean(self) -> dict:
        data = super().clean()
        month, year = data.get("exp_month"), data.get("exp_year")
        today = timezone.localdate()
        if month and year and (year, month) < (today.year, today.month):
            self.add_error("exp_year", "This card has expired.")
        return data


class AutoRechargeForm(forms.Form):
    enabled = forms.BooleanField(
        label="Buy credits automatically when the balance runs low", required=False
    )
    threshold = forms.IntegerField(
        label="When the balance falls below (credits)", min_value=0, max_value=1_000_000
    )
    pack = forms.TypedChoiceField(label="Buy this pack", coerce=int)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pack"].choices = [(p, f"{p:,} credits") for p in settings.CREDIT_PACKS]


class LedgerFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label="Kind", required=False, choices=[("", "All kinds"), *LedgerEntry.Kind.choices]
    )
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def filters(self) -> dict:
        """The valid filters only; a bad date is shown as an error and otherwise ignored."""
        if not self.is_bound:
            return {}
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "kind": data.get("kind") or "",
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
        }
