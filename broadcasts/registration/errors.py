"""Twilio's registration failure codes in plain words, with what to change.

Twilio (and the carriers' reviewers behind it) reject a brand, campaign or toll-free
verification with a code from its error dictionary; the same codes serve A2P 10DLC and
toll-free. A code we do not know is shown with Twilio's own text.
"""

from __future__ import annotations

from dataclasses import dataclass

from broadcasts.registration.models import RegistrationStep


@dataclass(frozen=True, slots=True)
class Fix:
    code: int | None
    what: str  # what the reviewer found, in plain words
    change: str  # what to change in the form before resubmitting
    field: str = ""  # the form field to look at ("" when it is the business itself)


FIXES: dict[int, Fix] = {
    fix.code: fix
    for fix in (
        Fix(
            30544,
            "The opt-in description does not say what the texts are about.",
            "In “How families opt in”, say what families will get, e.g. “class updates, "
            "schedule changes and closures”.",
            "message_flow",
        ),
        Fix(
            30545,
            "The opt-in description does not say how often texts come.",
            "Add “Message frequency varies” to “How families opt in”.",
            "message_flow",
        ),
        Fix(
            30551,
            "The consent wording does not say the messages are text messages (SMS).",
            "Make “How families opt in” say families agree to receive text messages (SMS).",
            "message_flow",
        ),
        Fix(
            30558,
            "The texting terms do not say how often texts come (message frequency missing).",
            "Add “Message frequency varies” to your texting policy (Settings > Family "
            "Policies) and to “How families opt in”, then resubmit.",
            "message_flow",
        ),
        Fix(
            30562,
            "The texting terms do not say that message and data rates may apply.",
            "Add “Msg & data rates may apply” to your texting policy (Settings > Family "
            "Policies), then resubmit.",
            "message_flow",
        ),
        Fix(
            30569,
            "The opt-in description does not say that message and data rates may apply.",
            "Add “Msg & data rates may apply” to “How families opt in”.",
            "message_flow",
        ),
        Fix(
            30570,
            "The opt-in description does not say how to get help.",
            "Add “Reply HELP for help” to “How families opt in”.",
            "message_flow",
        ),
        Fix(
            30893,
            "The sample messages do not match the use case you chose.",
            "Use two real messages of the kind you chose (name your business, end with "
            "“Reply STOP to opt out”), or pick the use case that fits them.",
            "sample_1",
        ),
    )
}


def fix_for(step: RegistrationStep) -> Fix | None:
    """What to change for a failed step, or None when it did not fail."""
    if step.status != RegistrationStep.Status.FAILED:
        return None
    if step.error_code in FIXES:
        return FIXES[step.error_code]
    said = step.error_text or "no reason given"
    return Fix(
        step.error_code,
        f"Twilio turned it down: {said}",
        "Check the answers named in Twilio's reason, correct them and resubmit.",
    )
