"""What the broadcast page shows while people watch it: a banner that follows the status, a
stacked bar of where the recipients are, and the same numbers in a table.

Read-only; the counts come from ``broadcast_progress`` (texts) and ``voice_progress`` (calls).
The bar is drawn as SVG rectangles whose geometry is attributes, not inline styles, so the
Content-Security-Policy (no inline style) holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import ngettext

from broadcasts.models import Broadcast
from broadcasts.selectors import broadcast_progress

BAR_WIDTH = 1000  # the SVG's viewBox width: positions are in thousandths of the bar
LIVE = (
    Broadcast.Status.QUEUED,
    Broadcast.Status.SENDING,
    Broadcast.Status.RECORDING,
)


@dataclass
class Segment:
    key: str  # the CSS class: seg-<key>
    label: str
    count: int
    x: int = 0
    width: int = 0
    percent: int = 0


@dataclass
class ProgressView:
    status: str
    status_label: str
    banner: str
    tone: str  # info, ok, warn
    segments: list[Segment]
    total: int
    left_out: int
    credits: dict[str, int] = field(default_factory=dict)
    counts: dict = field(default_factory=dict)

    @property
    def live(self) -> bool:
        """Keep polling: something can still change without anyone pressing a button."""
        return self.status in LIVE

    @property
    def bar_label(self) -> str:
        shown = [f"{s.count:,} {s.label.lower()}" for s in self.segments if s.count]
        return ", ".join(shown) or "nothing to send"


def _lay_out(segments: list[Segment]) -> int:
    """Give each segment its place on the bar; cumulative rounding keeps the ends exact."""
    total = sum(s.count for s in segments)
    done = 0
    for segment in segments:
        start = round(BAR_WIDTH * done / total) if total else 0
        done += segment.count
        end = round(BAR_WIDTH * done / total) if total else 0
        segment.x, segment.width = start, end - start
        segment.percent = round(100 * segment.count / total) if total else 0
    return total


def _messages(n: int) -> str:
    return ngettext("%(n)s message", "%(n)s messages", n) % {"n": f"{n:,}"}


def _numbers(n: int) -> str:
    return ngettext("%(n)s number", "%(n)s numbers", n) % {"n": f"{n:,}"}


# --- texts ---


def sms_progress_view(*, broadcast: Broadcast) -> ProgressView:
    counts = broadcast_progress(broadcast=broadcast)
    failed = counts["failed"] + counts["undelivered"]
    pending = counts["pending"] + counts["sending"]
    segments = [
        Segment("delivered", "Delivered", counts["delivered"]),
        Segment("sent", "Sent", counts["sent"]),
        Segment("failed", "Failed", failed),
        Segment("skipped", "Skipped", counts["skipped"]),
        Segment("pending", "Pending", pending),
    ]
    total = _lay_out(segments)
    went_out = counts["delivered"] + counts["sent"]
    banner, tone = _sms_banner(broadcast.status, total, went_out, failed, pending)
    return ProgressView(
        status=broadcast.status,
        status_label=broadcast.get_status_display(),
        banner=banner,
        tone=tone,
        segments=segments,
        total=total,
        left_out=counts["excluded"],
        credits=_credits(counts),
        counts=counts,
    )


def _sms_banner(status: str, total: int, went_out: int, failed: int, pending: int):
    Status = Broadcast.Status
    if status == Status.QUEUED:
        return f"Queued: {_messages(total)} will go out shortly.", "info"
    if status == Status.SENDING:
        done = total - pending
        return f"Sending {_messages(total)}: {done:,} of {total:,} done so far.", "info"
    if status == Status.CANCELLED:
        return (
            f"Cancelled: {went_out:,} of {_messages(total)} went out before it was stopped; "
            "the rest were refunded.",
            "warn",
        )
    if failed:
        return (
            f"Done: {went_out:,} of {_messages(total)} went out; {failed:,} failed and "
            f"{ngettext('was', 'were', failed)} refunded.",
            "warn",
        )
    return f"Done: {_messages(total)} went out.", "ok"


def _credits(counts: dict) -> dict[str, int]:
    return {
        "debited": counts["credits_debited"],
        "refunded": counts["credits_refunded"],
        "spent": counts["credits_spent"],
    }


# --- calls ---


def voice_progress_view(*, broadcast: Broadcast) -> ProgressView:
    from broadcasts.voice.selectors import voice_progress

    counts = voice_progress(broadcast=broadcast)
    pending = counts["waiting"] + counts["calling"]
    segments = [
        Segment("answered", "Answered", counts["answered"]),
        Segment("unanswered", "Busy or no answer", counts["unanswered"]),
        Segment("failed", "Failed", counts["failed"]),
        Segment("skipped", "Skipped", counts["skipped"]),
        Segment("pending", "Still to call", pending),
    ]
    total = _lay_out(segments)
    expected = total or broadcast.recipient_count
    banner, tone = _voice_banner(broadcast, expected, counts, pending)
    return ProgressView(
        status=broadcast.status,
        status_label=broadcast.get_status_display(),
        banner=banner,
        tone=tone,
        segments=segments,
        total=total,
        left_out=counts["excluded"],
        credits=_credits(counts),
        counts=counts,
    )


def _voice_banner(broadcast: Broadcast, total: int, counts: dict, pending: int):
    Status = Broadcast.Status
    status = broadcast.status
    if status == Status.RECORDING:
        return (
            f"Recording by phone: {_numbers(total)} will be called once the recording is done.",
            "info",
        )
    if status == Status.WAITING:
        return "Waiting for credits: nobody has been called yet.", "warn"
    if status == Status.QUEUED:
        return f"Queued: {_numbers(total)} will be called shortly.", "info"
    if status == Status.SENDING:
        done = total - pending
        return f"Calling {_numbers(total)}: {done:,} of {total:,} done so far.", "info"
    answered = counts["answered"]
    if status == Status.CANCELLED:
        if not counts["credits_debited"]:
            return "Cancelled: nothing was sent.", "warn"
        return (
            f"Cancelled: {answered:,} of {_numbers(total)} answered before it was stopped; "
            "the rest were refunded.",
            "warn",
        )
    return f"Done: {answered:,} of {_numbers(total)} answered.", "ok"


def progress_view(*, broadcast: Broadcast) -> ProgressView:
    if broadcast.channel == Broadcast.Channel.VOICE:
        return voice_progress_view(broadcast=broadcast)
    return sms_progress_view(broadcast=broadcast)
