"""Compose drafts: what staff typed in the SMS window (or as a voice broadcast's text to be read
out), kept until it is sent or discarded, so a refresh or a closed dialog loses nothing.

A draft belongs to a channel and to the exact selection it was written for (kind, ticked ids,
"all matching" filter, exclusions), and lives in the staff member's session next to that
selection: the selection itself is kept there, so a draft can never outlive what it was for,
and no table is needed. Saved on every live recount (the preview request made while typing).
"""

from __future__ import annotations

import hashlib
import json

from django.contrib.sessions.backends.base import SessionBase

from families.selection import Selection

SESSION_KEY = "compose_drafts"
MAX_DRAFTS = 20  # older ones are dropped, so a session never grows without bound
MAX_CHARACTERS = 5000


def _key(channel: str, selection: Selection) -> str:
    fingerprint = json.dumps(selection.to_dict(), sort_keys=True, default=str)
    digest = hashlib.sha256(fingerprint.encode()).hexdigest()[:16]
    return f"{channel}:{selection.kind}:{digest}"


def draft_get(session: SessionBase, *, channel: str, selection: Selection) -> str:
    drafts = session.get(SESSION_KEY) or {}
    found = drafts.get(_key(channel, selection))
    return found if isinstance(found, str) else ""


def draft_save(session: SessionBase, *, channel: str, selection: Selection, text: str) -> None:
    """Keep ``text`` as the draft (an empty text is no draft); unchanged text writes nothing."""
    key = _key(channel, selection)
    drafts = dict(session.get(SESSION_KEY) or {})
    text = (text or "")[:MAX_CHARACTERS]
    if drafts.get(key, "") == text:
        return
    drafts.pop(key, None)
    if text.strip():
        drafts[key] = text  # last written last: the oldest are first to go
    while len(drafts) > MAX_DRAFTS:
        drafts.pop(next(iter(drafts)))
    session[SESSION_KEY] = drafts


def draft_clear(session: SessionBase, *, channel: str, selection: Selection) -> None:
    draft_save(session, channel=channel, selection=selection, text="")
