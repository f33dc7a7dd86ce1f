"""How carriers split a text into parts, and so what it costs.

GSM-7 (the default alphabet): 160 characters in one part, else 153 per part; characters of
the extension table (€ [ ] { } ^ ~ | \\ and form feed) take two, and are never split across
parts. Any character outside GSM-7 makes the whole message UCS-2: 70 in one part, else 67 per
part, counted in UTF-16 code units (an emoji is two) without splitting a surrogate pair.

Also the merge fields ({first_name} and friends): what a text asks for, what is wrong with it,
and ``Merging``, which merges and counts one text for many recipients from their names alone.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from broadcasts.typed_text import refused_characters

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
# One unit in either alphabet, never forcing UCS-2 and never refused: a name made only of
# these counts as its length whatever its letters (the counted preview groups names by their
# lengths). As a regular expression that PostgreSQL and Python read alike ("-" last).
PLAIN = GSM7_BASIC - {"\n", "\r"}
PLAIN_TEXT = "^[" + "".join(sorted(PLAIN - {"-"})) + "-]*$"
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


# --- one text merged for many recipients ---


@dataclass(frozen=True, slots=True)
class _Measure:
    """What a piece of a merged text adds to its count, whatever surrounds it."""

    gsm7: bool  # every character in GSM-7
    septets: int  # its length in GSM-7 (extension characters take two); 0 when not gsm7
    code_units: int  # its length in UTF-16 code units (UCS-2's count: an emoji is two)
    doubles: bool  # holds a two-unit character in the encoding that may apply
    refused: bool  # holds a character no message may carry (broadcasts.typed_text)


_NOT_GSM7 = re.compile("[^" + re.escape("".join(sorted(GSM7_BASIC | GSM7_EXTENSION))) + "]")
_EXTENSION = re.compile("[" + re.escape("".join(sorted(GSM7_EXTENSION))) + "]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _measure(piece: str) -> _Measure:
    gsm7 = _NOT_GSM7.search(piece) is None
    extension = len(_EXTENSION.findall(piece)) if gsm7 else 0
    astral = 0 if gsm7 or piece.isascii() else len(_ASTRAL.findall(piece))
    return _Measure(
        gsm7=gsm7,
        septets=len(piece) + extension if gsm7 else 0,
        code_units=len(piece) + astral,
        doubles=bool(extension or astral),
        refused=bool(refused_characters(piece)),
    )


class Merging:
    """One text merged with many recipients' names: each one's text, and its parts and units
    exactly as ``count_parts`` of that text says, at the cost of the names alone.

    50,000 families have some 48,000 different greetings, so counting each merged text whole
    (``count_parts``, about 12 µs) and merging it with the regular expression (about 4 µs)
    took most of a preview's time. Here the typed text is split once into its fixed pieces
    and its fields; each distinct name is measured once (names repeat across families); a
    recipient's count is then a sum. Only a text over one part that holds a two-unit
    character (an extension character, an emoji), whose parts depend on where those fall, is
    counted whole, and once per distinct text.

    ``fields`` name what each position of a recipient's names stands for; ``constants`` fill
    the fields that are the same for everyone ({organization}). Unknown braced names are left
    as typed, as ``merge`` leaves them.
    """

    def __init__(self, text: str, fields: tuple[str, ...], constants: dict[str, str]) -> None:
        pieces, slots, current, at = [], [], [], 0
        for found in _MERGE_RE.finditer(text):
            name = found.group(1)
            current.append(text[at : found.start()])
            at = found.end()
            if name in fields:  # a piece ends: the fixed text between two fields
                pieces.append("".join(current))
                slots.append(fields.index(name))
                current = []
            else:  # a constant, or an unknown name left as typed
                current.append(constants.get(name, found.group(0)))
        current.append(text[at:])
        pieces.append("".join(current))
        self._pieces, self._slots = tuple(pieces), tuple(slots)
        self._fixed = _measure("".join(pieces))
        self._length = sum(map(len, pieces))
        self._format = "".join(
            piece.replace("{", "{{").replace("}", "}}")
            + ("{" + str(slot) + "}" if slot >= 0 else "")
            for piece, slot in zip(pieces, (*slots, -1), strict=True)
        )
        self._measures: dict[str, _Measure] = {}
        self._whole: dict[str, Parts] = {}

    def text(self, names: tuple[str, ...]) -> str:
        """The text this recipient is sent."""
        if not self._slots:
            return self._pieces[0]
        return self._format.format(*names)

    def count(self, names: tuple[str, ...]) -> tuple[int, int, int, bool]:
        """(parts, units) of ``count_parts(self.text(names))``, that text's length in
        characters, and whether it holds a character no message may carry. Plain loops: this
        runs once per distinct greeting."""
        fixed, measures = self._fixed, self._measures
        gsm7, septets, code_units = fixed.gsm7, fixed.septets, fixed.code_units
        doubles, refused, length = fixed.doubles, fixed.refused, self._length
        for slot in self._slots:
            name = names[slot]
            measure = measures.get(name)
            if measure is None:
                measure = measures[name] = _measure(name)
            length += len(name)
            gsm7 = gsm7 and measure.gsm7
            septets += measure.septets
            code_units += measure.code_units
            doubles = doubles or measure.doubles
            refused = refused or measure.refused
        single, multi = _LIMITS[GSM7] if gsm7 else _LIMITS[UCS2]
        units = septets if gsm7 else code_units
        if units <= single:
            return (1 if units else 0), units, length, refused
        if not doubles:
            return ceil_div(units, multi), units, length, refused
        # A two-unit character is never split across parts, so where it falls decides: the
        # whole text is counted (once per distinct text; an extension character counts two
        # only in GSM-7, an emoji in either).
        merged = self.text(names)
        found = self._whole.get(merged)
        if found is None:
            found = self._whole[merged] = count_parts(merged)
        return found.parts, found.units, length, refused
