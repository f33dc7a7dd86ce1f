"""Phone numbers in E.164, validated against the organization's country (phonenumbers)."""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError

TEXT_CAPABLE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


def phone_parse(raw: str, *, country: str) -> str:
    """Return the E.164 form of ``raw`` or raise ValidationError with a message a person reads.

    A number written without a country code is read as the organization's country; one with a
    ``+`` must still belong to that country, because the sending number can only reach it.
    """
    text = (raw or "").strip()
    if not text:
        raise ValidationError("Enter a phone number.", code="required")
    try:
        parsed = phonenumbers.parse(text, country)
    except phonenumbers.NumberParseException:
        raise ValidationError(f"{text} is not a valid {country} number.", code="invalid") from None
    if not phonenumbers.is_valid_number_for_region(parsed, country):
        raise ValidationError(f"{text} is not a valid {country} number.", code="invalid")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def phone_display(e164: str) -> str:
    """How a number is shown to people: national format for its own country."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def phone_likely_text_capable(e164: str) -> bool:
    """A default for the text-capable toggle; North American numbers don't say, so they are
    assumed mobile and staff or parents can correct it."""
    number_type = phonenumbers.number_type(phonenumbers.parse(e164, None))
    return number_type in TEXT_CAPABLE_TYPES
