"""Message options: the form admins edit (header, footer, signup message, what the texts are
for, the HELP and STOP replies, the business's contact and mailing address) and the service
that saves it. The form refuses an edit that drops a part the carriers (CTIA) or the law of
Canada and Australia need, and says which (``broadcasts.sms.ctia`` has the checks).
"""

from __future__ import annotations

import copy

from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from broadcasts.sms import ctia, segments
from broadcasts.typed_text import refused_characters_message
from smsvoice.models import MessageOptions, Organization

SAMPLE_TEXT = "The gym is closed today because of snow. Classes are back tomorrow."
ORG_FIELDS = ("contact_phone", "contact_email", "mailing_address")
# The fields whose blank stored value means "the default built from the organization".
DEFAULTED = ("signup_message", "help_reply", "stop_reply")


class MessageOptionsForm(forms.Form):
    header = forms.CharField(
        max_length=50,
        required=False,
        help_text="Up to 50 characters, put first in every text on a line of its own "
        "(e.g. your business name). Counted in each text's 160.",
    )
    footer = forms.CharField(
        max_length=50,
        required=False,
        help_text="Up to 50 characters, put last in every text on a line of its own "
        "(e.g. “Reply STOP to opt out”).",
    )
    purpose = forms.CharField(
        max_length=80,
        label="What the texts are for",
        help_text="In the HELP reply and the default signup message, e.g. “class updates "
        "and closures”.",
        error_messages={"required": "Say what the texts are for (the HELP reply names it)."},
    )
    signup_message = forms.CharField(
        max_length=160,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Up to 160 characters, sent once to a number when it is opted in (and again "
        "only after it opted out). {organization} is replaced by your business name.",
        error_messages={"required": "Write the signup message (or put back the default)."},
    )
    help_reply = forms.CharField(
        max_length=320,
        label="HELP reply",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The answer to HELP or INFO. Free for you; recorded.",
        error_messages={"required": "Write the HELP reply."},
    )
    stop_reply = forms.CharField(
        max_length=320,
        label="STOP reply",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="The one confirmation sent when a number opts out. Free for you; recorded.",
        error_messages={"required": "Write the STOP reply."},
    )
    contact_phone = forms.CharField(max_length=20, required=False, label="Contact phone")
    contact_email = forms.EmailField(required=False, label="Contact email")
    mailing_address = forms.CharField(
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Canada: the family policy must give it (CASL).",
    )

    def __init__(self, *args, organization: Organization, **kwargs) -> None:
        self.organization = organization
        super().__init__(*args, **kwargs)
        if organization.country == Organization.Country.CA:
            self.fields["mailing_address"].help_text = (
                "Required in Canada: the family policy must give it (CASL)."
            )

    def clean(self) -> dict:
        data = super().clean()
        # Checked against the contact being saved with it, not the one on file.
        org = copy.copy(self.organization)
        for name in ORG_FIELDS:
            if name in data:
                setattr(org, name, data[name].strip())
        for name in ("header", "footer", "signup_message", "help_reply", "stop_reply"):
            problem = _typed_problem(data.get(name, ""), name)
            if problem:
                self.add_error(name, problem)
        self._check_parts(org, data)
        if org.country == Organization.Country.CA and not org.mailing_address:
            self.add_error(
                "mailing_address",
                "Canada's anti-spam law (CASL) needs the business's mailing address in the "
                "family policy: enter it here.",
            )
        return data

    def _check_parts(self, org: Organization, data: dict) -> None:
        checks = {
            "help_reply": lambda t: ctia.help_reply_missing(t, org, data.get("purpose", "")),
            "stop_reply": lambda t: ctia.stop_reply_missing(t, org),
            "signup_message": lambda t: ctia.signup_missing(t, org),
        }
        what = {"help_reply": "HELP reply", "stop_reply": "STOP reply"}
        for name, missing_of in checks.items():
            if name in data and not self.has_error(name):
                missing = missing_of(data[name])
                if missing:
                    label = what.get(name, "signup message")
                    self.add_error(name, f"The {label} must include {_listed(missing)}.")
        if "header" in data and "footer" in data:
            missing = ctia.footer_missing(
                org, header=data["header"], footer=data["footer"], reply_path=ctia.reply_path(org)
            )
            if missing:
                self.add_error(
                    "footer",
                    f"{ctia.why_footer_stays(org)} The footer must include {_listed(missing)}.",
                )


def _typed_problem(text: str, name: str) -> str:
    problem = refused_characters_message(text) or segments.merge_field_problem(text)
    if problem:
        return problem
    other = sorted(segments.merge_fields_used(text) - {"organization"})
    if other:  # the header and footer go on replies and signups too, to one number
        return (
            f"{{{other[0]}}} cannot be used here: this text also goes to one number, not to "
            "a family; use {organization} or plain words."
        )
    return ""


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def form_initial(organization: Organization) -> dict:
    """What the form shows: the stored texts, or the defaults they stand for."""
    options = ctia.message_options_for(organization)
    return {
        "header": options.header,
        "footer": options.footer,
        "purpose": ctia.purpose_of(options),
        "signup_message": options.signup_message or ctia.default_signup(organization, options),
        "help_reply": options.help_reply or ctia.default_help_reply(organization, options),
        "stop_reply": options.stop_reply or ctia.default_stop_reply(organization),
        **{name: getattr(organization, name) for name in ORG_FIELDS},
    }


@transaction.atomic
def message_options_update(
    *, organization: Organization, actor: AbstractBaseUser | None, data: dict
) -> MessageOptions:
    """Save what the form checked. A text equal to its default is stored blank, so that it
    keeps following the organization's name, purpose and contact."""
    options = ctia.message_options_for(organization)
    options = MessageOptions.objects.select_for_update().get(pk=options.pk)
    for name in ORG_FIELDS:
        setattr(organization, name, data[name].strip())
    organization.save(update_fields=list(ORG_FIELDS))
    options.organization = organization
    options.header, options.footer = data["header"].strip(), data["footer"].strip()
    options.purpose = data["purpose"].strip()
    defaults = {
        "signup_message": ctia.default_signup(organization, options),
        "help_reply": ctia.default_help_reply(organization, options),
        "stop_reply": ctia.default_stop_reply(organization),
    }
    for name in DEFAULTED:
        text = data[name].strip()
        setattr(options, name, "" if text == defaults[name] else text)
    options.updated_by = actor if actor is not None and actor.is_authenticated else None
    options.save()
    organization.message_options = options
    return options


def sample_of(organization: Organization) -> dict:
    """A sample broadcast with the header and footer, and the signup message, counted, for
    the options page to show what they cost."""
    options = ctia.message_options_for(organization)
    text = segments.merge(ctia.wrap(SAMPLE_TEXT, options), {"organization": organization.name})
    signup = ctia.signup_text(organization)
    wrapped = options.header.strip() or options.footer.strip()
    return {
        "text": text,
        "parts": segments.count_parts(text),
        # each on a line of its own: one line break apiece
        "added": len(ctia.wrap("", options)) + 1 if wrapped else 0,
        "signup": signup,
        "signup_parts": segments.count_parts(signup),
    }
