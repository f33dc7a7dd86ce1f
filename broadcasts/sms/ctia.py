"""What the law and the carriers need in an organization's texts, and the default wording.

- US carriers (CTIA): the HELP reply names the program (the organization), what the texts
  are for, "Msg frequency varies", "Msg & data rates may apply", a contact and "Reply STOP to
  opt out"; the STOP reply names the organization and says no more texts will be sent; the
  signup (opt-in confirmation) names the organization, the frequency, the rates, HELP and STOP.
- Canada (CASL) and Australia (Spam Act): every message identifies the sender (the business
  name, in the header or the footer) and says how to unsubscribe (the footer). An Australian
  text sent from an alphanumeric sender ID cannot be replied to, so its footer must give a way
  to unsubscribe that is not a reply (a link, a phone number or an email address).

The ``*_missing`` checkers return the names of the parts a text lacks (empty when it has
them all); the options form shows them, and the reply code can call them too. The
``*_text`` readers return what to send: the organization's own text, or the default.
"""

from __future__ import annotations

import re

from django.conf import settings

from smsvoice.models import MessageOptions, Organization

DEFAULT_PURPOSE = "class updates and closures"
HEADER_SEPARATOR = "\n"  # between the header and the text, and the text and the footer
LAW_COUNTRIES = (Organization.Country.CA, Organization.Country.AU)

_FREQUENCY = re.compile(r"\b(msg|message)s?\.?\s+freq(uency|\.)?\s+varies\b", re.I)
_RATES = re.compile(
    r"\b(msg|message)s?\.?\s*(&|and)\s*data\s+rates\s+(may|might|can)\s+apply", re.I
)
_REPLY_STOP = re.compile(r"\b(reply|text|send)\s+[\"“']?stop\b", re.I)
_STOP_WORD = re.compile(r"\b(stop|unsubscribe|opt[ -]?out)\b", re.I)
_REPLY_HELP = re.compile(r"\bhelp\b", re.I)
_NO_MORE = re.compile(
    r"\bno\s+(more|further)\b|\b(not|n't|never)\s+(get|receive|be\s+sent|send)\b"
    r"|\bany\s*more\b|\bstopped\b",
    re.I,
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d ().-]{6,}\d")
# A link: with its scheme or www, a domain with a path, or a domain of a common ending.
_URL = re.compile(
    r"\b(https?://|www\.)\S+|\b[\w-]+(\.[\w-]+)*\.[a-z]{2,24}/\S*"
    r"|\b[\w-]+(\.[\w-]+)*\.(com|org|net|ca|au|nz|uk|us|io|co|info|biz)\b",
    re.I,
)


# --- reading the options ---


def message_options_for(organization: Organization) -> MessageOptions:
    """The organization's options, created with the defaults the first time they are read
    (for Canada and Australia a footer naming the sender and how to opt out)."""
    try:
        return organization.message_options
    except MessageOptions.DoesNotExist:
        pass
    options, _ = MessageOptions.objects.get_or_create(
        organization=organization, defaults={"footer": default_footer(organization)}
    )
    organization.message_options = options
    return options


def purpose_of(options: MessageOptions) -> str:
    return options.purpose.strip() or DEFAULT_PURPOSE


def contact_of(organization: Organization) -> str:
    """Who to contact about the texts: the phone and email on file, else the portal's address."""
    found = " or ".join(c for c in (organization.contact_phone, organization.contact_email) if c)
    return found or settings.SITE_URL


def help_reply_text(organization: Organization) -> str:
    options = message_options_for(organization)
    return _filled(options.help_reply, organization) or default_help_reply(organization, options)


def stop_reply_text(organization: Organization) -> str:
    options = message_options_for(organization)
    return _filled(options.stop_reply, organization) or default_stop_reply(organization)


def signup_text(organization: Organization) -> str:
    """The signup message to send: merge fields filled with the organization's name."""
    options = message_options_for(organization)
    return _filled(options.signup_message, organization) or default_signup(organization, options)


def _filled(text: str, organization: Organization) -> str:
    return text.strip().replace("{organization}", organization.name)


# --- defaults ---


def default_help_reply(organization: Organization, options: MessageOptions) -> str:
    return (
        f"{organization.name}: {purpose_of(options)}. Msg frequency varies. "
        f"Msg & data rates may apply. Contact {contact_of(organization)}. "
        "Reply STOP to opt out."
    )


def default_stop_reply(organization: Organization) -> str:
    return (
        f"You are unsubscribed from {organization.name} texts and will get no more. "
        "Reply START to subscribe again."
    )


def default_signup(organization: Organization, options: MessageOptions) -> str:
    return (
        f"{organization.name}: you're signed up for {purpose_of(options)} by text. "
        "Msg frequency varies. Msg & data rates may apply. Reply HELP for help, STOP to opt out."
    )


OPT_OUT = ": Reply STOP to opt out"
FOOTER_NAME_ROOM = 50 - len(OPT_OUT)  # the default footer's room for the name: 27


def short_name(organization: Organization, room: int = 48) -> str:
    """The business name, cut at a word if it must be to fit ``room`` characters."""
    name = organization.name.strip()
    if len(name) <= room:
        return name
    cut = name[:room].rsplit(" ", 1)[0]
    return cut if len(cut) >= 10 else name[:room]


def default_footer(organization: Organization) -> str:
    """Blank in the US; in Canada and Australia the sender's name and how to opt out."""
    if organization.country not in LAW_COUNTRIES:
        return ""
    return f"{short_name(organization, FOOTER_NAME_ROOM)}{OPT_OUT}"


# --- checking ---


def _names(organization: Organization, text: str) -> bool:
    # A long name may be cut at a word to fit a 50-character header or footer.
    wanted = {
        organization.name.strip().casefold(),
        short_name(organization).casefold(),
        short_name(organization, FOOTER_NAME_ROOM).casefold(),
    }
    have = " ".join(text.replace("{organization}", organization.name).casefold().split())
    return any(" ".join(w.split()) in have for w in wanted if w)


def _has_contact(organization: Organization, text: str) -> bool:
    on_file = [c for c in (organization.contact_phone, organization.contact_email) if c]
    return (
        any(c.casefold() in text.casefold() for c in on_file)
        or bool(_EMAIL.search(text) or _PHONE.search(text) or _URL.search(text))
    )


def help_reply_missing(text: str, organization: Organization, purpose: str) -> list[str]:
    checks = [
        ("the organization's name", _names(organization, text)),
        (f"what the texts are for (“{purpose}”)", purpose.casefold() in text.casefold()),
        ("“Msg frequency varies”", bool(_FREQUENCY.search(text))),
        ("“Msg & data rates may apply”", bool(_RATES.search(text))),
        ("a contact (phone, email or web address)", _has_contact(organization, text)),
        ("“Reply STOP to opt out”", bool(_REPLY_STOP.search(text))),
    ]
    return [name for name, present in checks if not present]


def stop_reply_missing(text: str, organization: Organization) -> list[str]:
    checks = [
        ("the organization's name", _names(organization, text)),
        ("that no more texts will be sent (e.g. “will get no more”)", bool(_NO_MORE.search(text))),
    ]
    return [name for name, present in checks if not present]


def signup_missing(text: str, organization: Organization) -> list[str]:
    checks = [
        ("the organization's name (or {organization})", _names(organization, text)),
        ("“Msg frequency varies”", bool(_FREQUENCY.search(text))),
        ("“Msg & data rates may apply”", bool(_RATES.search(text))),
        ("how to get help (“Reply HELP for help”)", bool(_REPLY_HELP.search(text))),
        ("how to opt out (“STOP to opt out”)", bool(_STOP_WORD.search(text))),
    ]
    return [name for name, present in checks if not present]


def footer_required(organization: Organization) -> bool:
    return organization.country in LAW_COUNTRIES


def footer_missing(
    organization: Organization, *, header: str, footer: str, reply_path: bool = True
) -> list[str]:
    """What the footer lacks where the law needs it (CA, AU); empty elsewhere."""
    if not footer_required(organization):
        return []
    checks = [
        (
            "the business name (in the header or the footer)",
            _names(organization, header + " " + footer),
        ),
        ("the opt-out words (e.g. “Reply STOP to opt out”)", bool(_STOP_WORD.search(footer))),
    ]
    if not reply_path:
        checks.append(
            (
                "a way to unsubscribe without replying (a link, phone or email): texts from "
                "a sender name cannot be replied to",
                bool(_EMAIL.search(footer) or _PHONE.search(footer) or _URL.search(footer)),
            )
        )
    return [name for name, present in checks if not present]


def reply_path(organization: Organization) -> bool:
    """Whether recipients can reply to the organization's texts (an Australian alphanumeric
    sender ID cannot be replied to: readiness says so once it knows)."""
    try:
        from broadcasts.readiness import sends_without_reply_path
    except ImportError:
        return True
    return not sends_without_reply_path(organization)


def why_footer_stays(organization: Organization) -> str:
    """What the compose window says where header and footer cannot be left out."""
    law = {
        Organization.Country.CA: "Canada's anti-spam law (CASL)",
        Organization.Country.AU: "Australia's Spam Act",
    }.get(organization.country)
    if law is None:
        return ""
    return (
        f"{law} requires every text to identify the sender and say how to unsubscribe, "
        "so the header and footer are always added."
    )


# --- wrapping a text ---


def wrap(text: str, options: MessageOptions, *, omit: bool = False) -> str:
    """The text as sent: header, text and footer on their own lines (``omit`` leaves the
    header and footer out, where the law allows: ``may_omit``). Their one merge field,
    {organization}, is filled here, so a text of one (a reply) needs no merging; merge fields
    of ``text`` are left for the caller."""
    if omit and may_omit(options.organization):
        return text
    name = options.organization.name
    pieces = [
        options.header.strip().replace("{organization}", name),
        text,
        options.footer.strip().replace("{organization}", name),
    ]
    return HEADER_SEPARATOR.join(p for p in pieces if p)


def may_omit(organization: Organization) -> bool:
    return not footer_required(organization)


# --- the family policy (Canada) ---


def _squashed(text: str) -> str:
    return " ".join(re.sub(r"[,;\n]+", " ", text).casefold().split())


def policy_missing(organization: Organization, text: str) -> list[str]:
    """What a Canadian family policy lacks of what CASL needs: the business's mailing address
    (as on file) and a way to contact it. Empty elsewhere, and when it has both."""
    if organization.country != Organization.Country.CA:
        return []
    missing = []
    address = organization.mailing_address.strip()
    if not address:
        missing.append(
            "the business's mailing address: enter it first in Settings > SMS & Voice > "
            "Message options, then put it in the policy"
        )
    elif _squashed(address) not in _squashed(text):
        missing.append(f"the business's mailing address (“{' '.join(address.split())}”)")
    if not _has_contact(organization, text):
        missing.append("a contact (a phone number, email or web address)")
    return missing


def policy_refusal(organization: Organization, text: str) -> str:
    """Why this policy cannot be published (Canada), or ''."""
    missing = policy_missing(organization, text)
    if not missing:
        return ""
    listed = missing[0] if len(missing) == 1 else "; and ".join(missing)
    return f"Canada's anti-spam law (CASL) needs the policy to include {listed}."
