"""Opt-outs by every route, honoured at once, with their evidence.

Routes: a STOP keyword (``replies.keyword_opt_out``), a revocation in words
(``reply_revocation``), staff deciding an unclear reply (``revocation_confirm`` /
``revocation_dismiss``), and the carrier saying the number opted out (Twilio error 21610,
``carrier_opt_out``).

Whatever the route, ``opt_out_everywhere`` does the same: the digits go on the organization's
STOP list (``OptOut``: every later broadcast's plan, and the send of one already queued, leave
them out, whichever PhoneNumber row of the organization carries them), every opted-in number
with those digits is turned off through ``consent_record``, and each change is a ConsentEvent
with its source, the customer's words, the time and the family policy in force. With nothing
to turn off, the request is still kept as an event against the bare number. A revocation that
names calls (``revocation.Reading.calls``) also stops voice broadcasts (``VoiceOptOut``, as
pressing 9 does), with its own voice event.

One confirmation per revocation: the STOP reply (``ctia.stop_reply_text``) answers a
revocation that put the number on the STOP list; a number already on it gets no second text.
It goes back as the webhook's TwiML answer, seconds after the reply (the FCC allows one within
five minutes). A revocation staff confirm later gets no text: by then the five minutes have
almost always passed, and a late text would be one more unwanted message. The answers the app
gives (HELP, STOP, START, confirmations) are free for the organization (no ledger entry) and
recorded as ``AutoReply`` rows, shown on the number's consent history.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from broadcasts.models import InboundMessage, VoiceOptOut
from broadcasts.sms.ctia import stop_reply_text
from broadcasts.sms.revocation import RULES_VERSION, Reading, Verdict, revocation_read
from families.models import AutoReply, ConsentEvent, OptOut, PhoneNumber, RevocationReview
from families.services import actor_label_for, consent_record, policy_current
from smsvoice.models import Organization

Source = ConsentEvent.Source
# The sources of an opt-out that put the number on the STOP list; START undoes any of them.
REVOCATION_SOURCES = frozenset({Source.KEYWORD, Source.REPLY, Source.REVIEW, Source.CARRIER})


@transaction.atomic
def opt_out_everywhere(
    *,
    organization: Organization,
    e164: str,
    source: str,
    words: str = "",
    note: str = "",
    calls: bool = False,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
) -> bool:
    """Opt these digits out of texts (and of calls with ``calls``) across the organization.
    Returns whether the number was newly put on the STOP list (it earns one confirmation)."""
    _, created = OptOut.objects.get_or_create(organization=organization, e164=e164)
    policy = policy_current(organization=organization)
    label = actor_label or actor_label_for(actor) or e164
    recorded = False
    numbers = PhoneNumber.objects.for_org(organization).filter(e164=e164)
    for number in numbers.filter(sms_opt_in=True):
        consent_record(
            phone_number=number,
            opted_in=False,
            source=source,
            actor=actor,
            actor_label=label,
            note=note,
            policy=policy,
            words=words,
        )
        recorded = True
    if not recorded:
        _bare_event(organization, e164, ConsentEvent.Channel.SMS, source, words, note, label, actor)
    if calls:
        voice_opt_out_in_words(
            organization=organization,
            e164=e164,
            source=source,
            words=words,
            note=note,
            actor=actor,
            actor_label=label,
        )
    return created


def _bare_event(organization, e164, channel, source, words, note, label, actor, number=None):
    ConsentEvent.objects.create(
        organization=organization,
        phone_number=number,
        e164=e164,
        channel=channel,
        opted_in=False,
        source=source,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=label,
        policy=policy_current(organization=organization),
        note=note,
        words=words,
    )


@transaction.atomic
def voice_opt_out_in_words(
    *,
    organization: Organization,
    e164: str,
    source: str,
    words: str,
    note: str = "",
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
) -> bool:
    """A texted "stop calling": no more voice broadcasts, as if 9 was pressed. An event
    (channel voice) for each number with these digits, or the bare number; once."""
    _, created = VoiceOptOut.objects.get_or_create(organization=organization, e164=e164)
    if not created:
        return False
    label = actor_label or actor_label_for(actor) or e164
    numbers = list(PhoneNumber.objects.for_org(organization).filter(e164=e164)) or [None]
    for number in numbers:
        _bare_event(
            organization,
            e164,
            ConsentEvent.Channel.VOICE,
            source,
            words,
            note,
            label,
            actor,
            number=number,
        )
    return True


def confirmation_text(organization: Organization, *, calls: bool) -> str:
    text = stop_reply_text(organization)
    return f"{text} Calls from {organization.name} are stopped too." if calls else text


def auto_reply_record(
    *, organization: Organization, inbound: InboundMessage | None, kind: str, text: str
) -> AutoReply:
    """Keep an answer the app gave (free: no ledger entry)."""
    e164 = inbound.from_e164 if inbound is not None else ""
    return AutoReply.objects.create(
        organization=organization, inbound=inbound, e164=e164, kind=kind, text=text
    )


# --- a reply in words ---


def reply_revocation(
    *, organization: Organization, inbound: InboundMessage, reading: Reading | None = None
) -> str | None:
    """A reply that is no keyword: opted out if it revokes (the confirmation returned, once),
    kept for staff if it is unclear, left alone otherwise. Returns the text to answer with."""
    reading = reading or revocation_read(inbound.body)
    if reading.verdict is Verdict.NOT:
        return None
    if reading.verdict is Verdict.UNCLEAR:
        stopped = OptOut.objects.for_org(organization).filter(e164=inbound.from_e164).exists()
        if stopped and not reading.calls:
            return None  # already off texts: nothing for staff to decide
        RevocationReview.objects.get_or_create(
            inbound=inbound,
            defaults={
                "organization": organization,
                "e164": inbound.from_e164,
                "words": inbound.body,
                "rule": reading.rule[:120],
                "names_calls": reading.calls,
            },
        )
        return None
    new = opt_out_everywhere(
        organization=organization,
        e164=inbound.from_e164,
        source=Source.REPLY,
        words=inbound.body,
        note=f"Revoked in words ({reading.rule}; {RULES_VERSION})",
        calls=reading.calls,
    )
    if not new:
        return None
    text = confirmation_text(organization, calls=reading.calls)
    auto_reply_record(
        organization=organization, inbound=inbound, kind=AutoReply.Kind.REVOCATION, text=text
    )
    return text


# --- staff deciding an unclear reply ---


def revocation_reviews(*, organization: Organization, verdict: str | None = None):
    """The organization's reviews, newest first (``verdict`` filters: pending, …)."""
    reviews = RevocationReview.objects.for_org(organization).select_related("inbound")
    return reviews.filter(verdict=verdict) if verdict else reviews


def _decide(review: RevocationReview, verdict: str, actor: AbstractBaseUser | None) -> bool:
    moved = RevocationReview.objects.filter(
        pk=review.pk, verdict=RevocationReview.Verdict.PENDING
    ).update(
        verdict=verdict,
        decided_by=actor if actor is not None and actor.is_authenticated else None,
        decided_by_label=actor_label_for(actor)[:150],
        decided_at=timezone.now(),
    )
    review.refresh_from_db()
    return bool(moved)


@transaction.atomic
def revocation_confirm(
    *, review: RevocationReview, actor: AbstractBaseUser | None, calls: bool | None = None
) -> RevocationReview:
    """Staff read the reply as a revocation: the number is opted out everywhere (events with
    source review, the words quoted, the staff member as actor). ``calls`` (default: whether
    the reply named calls) also stops voice broadcasts. No text is sent (module docstring).
    Refused with ValidationError once the review is decided."""
    if not _decide(review, RevocationReview.Verdict.OPTED_OUT, actor):
        raise ValidationError(f"This reply was already decided: {review.get_verdict_display()}.")
    opt_out_everywhere(
        organization=review.organization,
        e164=review.e164,
        source=Source.REVIEW,
        words=review.words,
        note=f"Staff read the reply as a revocation (review {review.pk})",
        calls=review.names_calls if calls is None else calls,
        actor=actor,
    )
    return review


@transaction.atomic
def revocation_dismiss(
    *, review: RevocationReview, actor: AbstractBaseUser | None
) -> RevocationReview:
    """Staff read the reply as not a revocation: nothing about consent changes; who decided
    and when is kept on the review. Refused with ValidationError once the review is decided."""
    if not _decide(review, RevocationReview.Verdict.NOT_REVOCATION, actor):
        raise ValidationError(f"This reply was already decided: {review.get_verdict_display()}.")
    return review


# --- the carrier ---


def carrier_opt_out(*, organization: Organization, e164: str, detail: str = "") -> bool:
    """Twilio refused a text with 21610: the carrier has this number as opted out of the
    sender (a STOP we never saw, or one sent to another number of a shared pool). Recorded as
    an opt-out with source carrier, once (a number already on the STOP list is left as is)."""
    if OptOut.objects.for_org(organization).filter(e164=e164).exists():
        return False
    return opt_out_everywhere(
        organization=organization,
        e164=e164,
        source=Source.CARRIER,
        note=f"Twilio refused a text with error 21610{': ' + detail if detail else ''}",
        actor_label="carrier (Twilio)",
    )
