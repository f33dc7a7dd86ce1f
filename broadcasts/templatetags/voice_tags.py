"""Template helpers for the voice pages."""

from __future__ import annotations

from django import template

from broadcasts.voice.recording import minutes_seconds
from broadcasts.voice.selectors import (
    CallProgress,
    latest_recording_call,
    recipients_with_calls,
    recording_call_progress,
)

register = template.Library()


@register.filter
def mmss(seconds) -> str:
    """42 → 0:42, 75 → 1:15."""
    return minutes_seconds(seconds or 0)


@register.simple_tag
def voice_recipient_rows(page) -> list:
    return recipients_with_calls(list(page))


@register.simple_tag
def voice_recording_progress(broadcast) -> CallProgress | None:
    call = latest_recording_call(broadcast=broadcast)
    return recording_call_progress(call=call) if call else None
