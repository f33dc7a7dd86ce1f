"""The words a phone can text back. Anything else gets no automatic reply: it reaches staff
in its conversation (``broadcasts.conversations``).

A keyword is the whole message, one word, in any case, with surrounding spaces and
punctuation ignored: "Stop", " stop.", "STOP!" are STOP; "STOP please" is not a keyword.
"""

from __future__ import annotations

import enum
import string

STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
)
START_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
_STRIP = string.whitespace + string.punctuation + "\u00a0\u2018\u2019\u201c\u201d\u2026"


class Keyword(enum.Enum):
    STOP = "stop"
    START = "start"
    HELP = "help"


def keyword_of(body: str) -> Keyword | None:
    word = (body or "").strip(_STRIP).upper()
    if not word or any(ch.isspace() for ch in word):
        return None
    if word in STOP_WORDS:
        return Keyword.STOP
    if word in START_WORDS:
        return Keyword.START
    if word in HELP_WORDS:
        return Keyword.HELP
    return None
