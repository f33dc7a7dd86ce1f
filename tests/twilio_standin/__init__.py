"""A local Twilio for tests and benchmarks: `TwilioStandin` (the REST API) and `CallbackSink`.

See server.py for what the stand-in speaks and how to steer it. Run it alone for a benchmark
in another process with `python -m tests.twilio_standin --latency 0.1` and steer it with
tests.twilio_standin.process.StandinClient.
"""

from tests.twilio_standin.server import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    AcceptedMessage,
    CallbackRecord,
    RecordedRequest,
    StandinCall,
    StandinMessage,
    StandinNumber,
    TwilioStandin,
    count_segments,
    duplicate_counts,
    max_in_window,
    twilio_signature,
)
from tests.twilio_standin.sink import CallbackSink, ReceivedWebhook

# Every setting that says where one of Twilio's hosts is (api, messaging, trusthub, lookups).
TWILIO_BASE_SETTINGS = (
    "TWILIO_API_BASE",
    "TWILIO_MESSAGING_API_BASE",
    "TWILIO_TRUSTHUB_API_BASE",
    "TWILIO_LOOKUPS_API_BASE",
)


def twilio_bases(base_url: str) -> dict[str, str]:
    """All of Twilio's hosts pointed at one stand-in (its paths of each API do not collide)."""
    return dict.fromkeys(TWILIO_BASE_SETTINGS, base_url)


def point_settings_at(settings, base_url: str) -> None:
    """pytest-django's `settings`: every Twilio host goes to `base_url`."""
    for name, value in twilio_bases(base_url).items():
        setattr(settings, name, value)


__all__ = [
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "TWILIO_BASE_SETTINGS",
    "AcceptedMessage",
    "CallbackRecord",
    "CallbackSink",
    "ReceivedWebhook",
    "RecordedRequest",
    "StandinCall",
    "StandinMessage",
    "StandinNumber",
    "TwilioStandin",
    "count_segments",
    "duplicate_counts",
    "max_in_window",
    "point_settings_at",
    "twilio_bases",
    "twilio_signature",
]
