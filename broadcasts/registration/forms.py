"""The guided forms of Settings > SMS & Voice > Texting registration.

Every field says what carriers do with it (``help_text``); the initial values are our
defaults for the organization (``broadcasts.registration.selectors.defaults_for``). The forms
check shape and Twilio's limits (lengths, formats); what to do with the answers is the
services'. ``cleaned_data`` is what is stored in ``TextingRegistration``'s JSON fields.
"""

from __future__ import annotations

import re

from django import forms

EIN = re.compile(r"^\d{2}-?\d{7}$")
ZIP = re.compile(r"^\d{5}(-\d{4})?$")
US_PHONE = re.compile(r"^\+1[2-9]\d{9}$")
STATE = re.compile(r"^[A-Z]{2}$")


class BusinessForm(forms.Form):
    """The business, as the carriers' registry (The Campaign Registry) will check it."""

    BRAND_KINDS = [
        (
            "low_volume",
            "Low-volume standard brand: fewer than 6,000 text parts a day (most schools)",
        ),
        ("standard", "Standard brand: more than 6,000 text parts a day (adds secondary vetting)"),
        ("sole_proprietor", "Sole proprietor: no EIN (one number, up to 1,000 texts a day)"),
    ]
    BUSINESS_TYPES = [
        ("Limited Liability Corporation", "Limited liability company (LLC)"),
        ("Corporation", "Corporation"),
        ("Partnership", "Partnership"),
        ("Non-profit Corporation", "Non-profit"),
        ("Co-operative", "Co-operative"),
    ]

    brand_kind = forms.ChoiceField(
        choices=BRAND_KINDS,
        widget=forms.RadioSelect,
        label="Kind of registration",
        help_text="Low-volume is cheaper and fits a school texting its own families; a "
        "business without an EIN registers as a sole proprietor.",
    )
    legal_name = forms.CharField(
        max_length=150,
        label="Legal business name",
        help_text="Exactly as on your IRS documents (EIN letter), including “LLC” or “Inc.”: "
        "carriers compare it with the IRS record.",
    )
    business_type = forms.ChoiceField(
        choices=BUSINESS_TYPES,
        label="Type of business",
        required=False,
        help_text="As registered with your state. Not asked of a sole proprietor.",
    )
    ein = forms.CharField(
        max_length=10,
        required=False,
        label="EIN (US federal tax id)",
        help_text="Nine digits, e.g. 12-3456789. Leave empty only for a sole proprietor.",
    )
    street = forms.CharField(
        max_length=150,
        label="Street address",
        help_text="The address on the EIN record; a PO box is refused.",
    )
    city = forms.CharField(max_length=80)
    state = forms.CharField(
        max_length=2, label="State", help_text="Two letters, e.g. NY.", initial=""
    )
    postal_code = forms.CharField(max_length=10, label="ZIP code")
    website = forms.URLField(
        max_length=200,
        assume_scheme="https",
        label="Website",
        help_text="Your business's public website. Reviewers open it: it should name the "
        "business and work.",
    )
    contact_first_name = forms.CharField(max_length=60, label="Contact first name")
    contact_last_name = forms.CharField(max_length=60, label="Contact last name")
    contact_title = forms.CharField(
        max_length=80,
        label="Contact job title",
        help_text="The person carriers may call to confirm the registration, e.g. Owner.",
    )
    contact_email = forms.EmailField(
        label="Contact email", help_text="Twilio writes here about the registration too."
    )
    contact_phone = forms.CharField(
        max_length=16,
        label="Contact phone",
        help_text="A US number in +1 format, e.g. +12025550123.",
    )

    def clean_state(self) -> str:
        value = self.cleaned_data["state"].strip().upper()
        if not STATE.match(value):
            raise forms.ValidationError("Two letters, e.g. NY.")
        return value

    def clean_postal_code(self) -> str:
        value = self.cleaned_data["postal_code"].strip()
        if not ZIP.match(value):
            raise forms.ValidationError("Five digits (or ZIP+4, e.g. 10001-1234).")
        return value

    def clean_contact_phone(self) -> str:
        value = re.sub(r"[\s().-]", "", self.cleaned_data["contact_phone"])
        if not value.startswith("+"):
            value = "+1" + value.removeprefix("1")
        if not US_PHONE.match(value):
            raise forms.ValidationError("A US number, e.g. +12025550123.")
        return value

    def clean(self) -> dict:
        data = super().clean()
        if data.get("brand_kind") == "sole_proprietor":
            data["ein"] = ""
            data["business_type"] = ""
            return data
        ein = (data.get("ein") or "").strip()
        if not EIN.match(ein):
            self.add_error("ein", "Nine digits, e.g. 12-3456789 (or choose sole proprietor).")
        else:
            data["ein"] = f"{ein.replace('-', '')[:2]}-{ein.replace('-', '')[2:]}"
        if "brand_kind" in data and not data.get("business_type"):
            self.add_error("business_type", "Choose the type of business.")
        return data


class CampaignForm(forms.Form):
    """The campaign: what the texts are and how families agreed to get them."""

    USE_CASES = [
        (
            "LOW_VOLUME",
            "Low-volume mixed: a bit of everything, under 2,000 text parts a day (most schools)",
        ),
        (
            "ACCOUNT_NOTIFICATION",
            "Account notifications: only reminders and notices about the family's own account",
        ),
    ]

    use_case = forms.ChoiceField(
        choices=USE_CASES,
        widget=forms.RadioSelect,
        label="Use case",
        help_text="Closures, schedule changes, events and billing reminders together are "
        "“low-volume mixed”. Choose account notifications only if you never send anything "
        "else. (A sole proprietor's campaign is always “sole proprietor”.)",
    )
    description = forms.CharField(
        min_length=40,
        max_length=4096,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="What the texts are for",
        help_text="One or two sentences: who gets texts and about what. At least 40 characters.",
    )
    sample_1 = forms.CharField(
        min_length=20,
        max_length=1024,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Sample message 1",
        help_text="A real text as families will get it: your business's name and “Reply STOP "
        "to opt out” in it. Taken from your recent broadcasts when you have some.",
    )
    sample_2 = forms.CharField(
        min_length=20,
        max_length=1024,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Sample message 2",
        help_text="Another kind of text you send (a reminder if the first is a closure).",
    )
    message_flow = forms.CharField(
        min_length=40,
        max_length=2048,
        widget=forms.Textarea(attrs={"rows": 6}),
        label="How families opt in",
        help_text="Reviewers read this and open the link in it: say where families agree, "
        "what the texts are about, how often they come, that rates may apply, and how to get "
        "help and stop. Our default describes the parent portal exactly.",
    )
    has_embedded_links = forms.BooleanField(
        required=False,
        label="Our texts contain links",
        help_text="Tick if you put web addresses in texts. Leaving it unticked and sending "
        "links gets texts blocked.",
    )
    has_embedded_phone = forms.BooleanField(
        required=False,
        label="Our texts contain phone numbers",
        help_text="Tick if your texts give a phone number to call (the HELP reply does not count).",
    )


class TollfreeForm(forms.Form):
    """The toll-free verification, for an organization whose sending number is toll-free."""

    OPT_IN_TYPES = [
        ("WEB_FORM", "On a web page (our parent portal)"),
        ("PAPER_FORM", "On a paper form"),
        ("VERBAL", "Verbally, recorded by staff"),
        ("VIA_TEXT", "By texting a keyword"),
    ]
    VOLUMES = [
        (v, f"Up to {v} texts a month")
        for v in ("10", "100", "1,000", "10,000", "100,000", "250,000", "500,000")
    ]
    USE_CASE_CATEGORIES = [
        ("ACCOUNT_NOTIFICATIONS", "Account notifications (schedules, closures, reminders)"),
        ("EVENTS", "Events"),
        ("CUSTOMER_CARE", "Customer care"),
    ]

    opt_in_type = forms.ChoiceField(
        choices=OPT_IN_TYPES,
        label="How families opt in",
        help_text="Families who opt in on our parent portal opt in “on a web page”.",
    )
    opt_in_url = forms.URLField(
        max_length=300,
        assume_scheme="https",
        label="Public page showing the opt-in",
        help_text="Reviewers must open it without logging in. Our default is your public "
        "texting page: your policy and how families opt in on the portal.",
    )
    message_volume = forms.ChoiceField(
        choices=VOLUMES,
        label="Texts a month",
        help_text="Families × texts a month, roughly; overestimating a little is fine.",
    )
    use_case_category = forms.ChoiceField(choices=USE_CASE_CATEGORIES, label="Use case")
    use_case_summary = forms.CharField(
        min_length=40,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="What the texts are for",
        help_text="Who gets texts, about what, and that they opted in.",
    )
    sample = forms.CharField(
        min_length=20,
        max_length=1024,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Sample message",
        help_text="A real text as families will get it, with your name and how to opt out.",
    )
