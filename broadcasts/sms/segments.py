"""How carriers split a text into parts, and so what it costs.

GSM-7 (the default alphabet): 160 characters in one part, else 153 per part; characters of
the extension table (€ [ ] { } ^ ~ | \\ and form feed) take two, and are never split across
parts. Any character outside GSM-7 makes the whole message UCS-2: 70 in one part, else 67 per
part, counted in UTF-16 code units (an emoji is two) without splitting a surrogate pair.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
MAX_PARTS = 10

GSM7 = "GSM-7"
UCS2 = "UCS-2"
_LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}

# Characters word processors and phones put in that have a GSM-7 look-alike.
PLAIN_EQUIVALENTS = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u201f": '"',
    "\u2033": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    "\u2012": "-",
    "\u2010": "-",
    "\u2011": "-",
    "\u2026": "...",
    "\u00a0": " ",
    "\u2002": " ",
    "\u2003": " ",
    "\u2009": " ",
    "\u200a": " ",
    "\u202f": " ",
    "\u200b": "",
    "\ufeff": "",
    "\u2022": "-",
    "\u00b4": "'",
    "\u02bc": "'",
    "\t": " ",
}


@dataclass(frozen=True)
class Parts:
    encoding: str
    parts: int
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    per_part: int  # the limit that applies: 160/153 or 70/67
    remaining: int  # characters (units) left before another part is needed
    ucs2_characters: tuple[str, ...]  # what forces UCS-2, each once, in order

    @property
    def too_long(self) -> bool:
        return self.parts > MAX_PARTS


def is_gsm7(char: str) -> bool:
    return char in GSM7_BASIC or char in GSM7_EXTENSION


def ucs2_characters(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(ch for ch in text if not is_gsm7(ch)))


def plain_equivalents(text: str) -> str:
    """Replace curly quotes, dashes, ellipses and odd spaces with their GSM-7 look-alikes."""
    return text.translate(str.maketrans(PLAIN_EQUIVALENTS))


def _units(text: str, encoding: str) -> list[int]:
    if encoding == GSM7:
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def count_parts(text: str) -> Parts:
    forcing = ucs2_characters(text)
    encoding = UCS2 if forcing else GSM7
    single, multi = _LIMITS[encoding]
    sizes = _units(text, encoding)
    total = sum(sizes)
    if total <= single:
        return Parts(encoding, 1 if text else 0, total, single, single - total, forcing)
    parts, used = 1, 0
    for size in sizes:  # pack greedily; a 2-unit character never straddles two parts
        if used + size > multi:
            parts, used = parts + 1, 0
        used += size
    return Parts(encoding, parts, total, multi, multi - used, forcing)


def describe(parts: Parts) -> str:
    """The compose window's summary line: "2 parts, 2 credits per recipient"."""
    noun = "part" if parts.parts == 1 else "parts"
    credit = "credit" if parts.parts == 1 else "credits"
    return f"{parts.parts} {noun}, {parts.parts} {credit} per recipient"


MERGE_FIELDS = ("first_name", "family_name", "student_first_name", "organization")
_MERGE_RE = re.compile(r"\{([a-z_]+)\}")
# Anything between braces: {FIRST_NAME}, {firstName} and {first name} are mistakes to report,
# never text to send as typed. Braces are for merge fields only.
_BRACED_RE = re.compile(r"\{([^{}]*)\}")


def merge_fields_unknown(text: str) -> list[str]:
    """Every braced name that is not a merge field exactly as spelled in MERGE_FIELDS."""
    return [name for name in _BRACED_RE.findall(text) if name not in MERGE_FIELDS]


def merge_fields_used(text: str) -> frozenset[str]:
    return frozenset(name for name in _MERGE_RE.findall(text) if name in MERGE_FIELDS)


def merge_field_problem(text: str) -> str:
    """Why the merge fields of ``text`` cannot be filled (an unknown name, a brace without its
    partner), or ''. Checked on preview and create, so nothing reaches a phone as typed."""
    known = ", ".join("{" + name + "}" for name in MERGE_FIELDS)
    unknown = merge_fields_unknown(text)
    if unknown:
        return f"Unknown merge field {{{unknown[0]}}}: use {known}{_did_you_mean(unknown[0])}."
    lone = _lone_brace(text)
    if lone is not None and text[lone] == "{":
        return (
            f"A brace is not closed in “{text[lone : lone + 20]}”: merge fields are written "
            f"between {{ and }}, like {{first_name}}; use {known}."
        )
    if lone is not None:
        return (
            f"A closing brace has no opening one in “{text[max(0, lone - 19) : lone + 1]}”: "
            f"merge fields are written between {{ and }}, like {{first_name}}; use {known}."
        )
    return ""


def _lone_brace(text: str) -> int | None:
    """Where the first brace without its partner is, or None when every { has its }."""
    opened = None
    for at, char in enumerate(text):
        if char == "{":
            if opened is not None:
                return opened
            opened = at
        elif char == "}":
            if opened is None:
                return at
            opened = None
    return opened


def _did_you_mean(name: str) -> str:
    simple = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip()).lower().replace(" ", "_")
    return f" (did you mean {{{simple}}}?)" if simple in MERGE_FIELDS else ""


def merge(text: str, values: dict[str, str]) -> str:
    """Fill {first_name} and friends; unknown names are left as typed (validated earlier)."""
    return _MERGE_RE.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def ceil_div(a: int, b: int) -> int:
    return math.ceil(a / b)
