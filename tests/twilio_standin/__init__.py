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

__all__ = [
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
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
    "twilio_signature",
]
