"""What staff may type into a broadcast, whichever channel: the characters that are refused.

Control characters (C0 except newline, carriage return and tab; DEL; C1) mean nothing on a
phone and some of them (ESC, NUL) upset carriers' gateways or text-to-speech engines.
Bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069) are invisible and make a
text read differently from what staff saw when they sent it. Both are refused, never silently
stripped, with a message that names each character, so staff know what was in their paste.

A tab is allowed here: SMS offers to turn it into a space ("Use plain equivalents", since a tab
is not GSM-7) and text-to-speech reads it as a space.
"""

from __future__ import annotations

import re
import unicodedata

ALLOWED_CONTROLS = frozenset("\n\r\t")
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Control characters have no Unicode name; these are the ones people meet.
CONTROL_NAMES = {
    "\x00": "null",
    "\x07": "bell",
    "\x08": "backspace",
    "\x0b": "vertical tab",
    "\x0c": "form feed",
    "\x1b": "escape",
    "\x7f": "delete",
    "\x85": "next line",
}
_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def refused_characters(text: str) -> tuple[str, ...]:
    """The refused characters of ``text``, each once, in the order they first appear."""
    return tuple(dict.fromkeys(_REFUSED.findall(text or "")))


def character_name(char: str) -> str:
    """'U+001B (escape)', 'U+202E (right-to-left override)'."""
    name = CONTROL_NAMES.get(char) or unicodedata.name(char, "control character")
    return f"U+{ord(char):04X} ({name.lower()})"


def refused_characters_message(text: str, *, what: str = "The message") -> str:
    """Why ``text`` cannot be sent because of the characters in it, or '' when it can."""
    found = refused_characters(text)
    if not found:
        return ""
    names = ", ".join(character_name(ch) for ch in found)
    if len(found) == 1:
        return (
            f"{what} contains an invisible character that cannot be sent: {names}. "
            "Remove it (retype the text around it if you cannot see it)."
        )
    return (
        f"{what} contains invisible characters that cannot be sent: {names}. "
        "Remove them (retype the text around them if you cannot see them)."
    )
