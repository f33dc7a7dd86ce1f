"""Composing an SMS broadcast: the preview the compose window shows (counts, parts, credits,
problems) and the create that writes the broadcast, its recipients and the debit in one
transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils.translation import ngettext

from broadcasts.engine.queue import enqueue_dispatch
from broadcasts.models import (
    Broadcast,
    Recipient,
)
from broadcasts.readiness import sms_refusal
from broadcasts.recipients import (
    DIRECTORY_CHANGED,
    BroadcastRefused,
    directory_changed,
    nobody_message,
    recipients_insert,
)
from broadcasts.selectors import (
    PlanCounts,
    PlannedRecipient,
    RecipientPlan,
    excluded_rows,
    gc_paused,
    recipients_counted,
    recipients_plan,
    sending_number_active,
)
from broadcasts.sms import ctia, segments
from broadcasts.typed_text import refused_characters_message
from credits.selectors import credits_balance, sending_suspended, sending_suspended_reason
from credits.services import credits_debit
from families.phones import phone_display
from families.selection import Selection
from smsvoice.models import Organization, StaffMember

logger = logging.getLogger(__name__)
Status = Recipient.Status


# --- preview and create ---


SAMPLES = 5  # merged messages the compose window lets staff step through


@dataclass(frozen=True)
class Sample:
    """One recipient's own message, merged, as the compose window shows it before sending."""

    e164: str
    owner_label: str
    text: str
    parts: int
    shared_by: int = 1

    @property
    def number(self) -> str:
        return phone_display(self.e164)

    def as_dict(self) -> dict:
        return {
            "e164": self.e164,
            "owner_label": self.owner_label,
            "text": self.text,
            "parts": self.parts,
            "shared_by": self.shared_by,
        }


@dataclass
class Preview:
    messages: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    encoding: str = segments.GSM7
    parts: int = 0
    per_part: int = 160
    characters_left: int = 160
    ucs2_characters: tuple[str, ...] = ()
    credits_needed: int = 0
    credits_available: int = 0
    problems: list[str] = field(default_factory=list)
    # Why this organization may not text at all now (broadcasts.readiness), also problems[0].
    refusal: str = ""
    samples: list[Sample] = field(default_factory=list)
    # The message options around the typed text (counted above): what they add, whether
    # this broadcast leaves them out, and why it may not where the law needs them.
    header: str = ""
    footer: str = ""
    header_footer_omitted: bool = False
    header_footer_required: str = ""

    @property
    def ucs2_from_options(self) -> tuple[str, ...]:
        """The characters forcing UCS-2 that come from the header or footer, not the typing."""
        if self.header_footer_omitted:
            return ()
        return tuple(c for c in self.ucs2_characters if c in self.header + self.footer)

    @property
    def excluded_total(self) -> int:
        return sum(self.excluded.values())

    @property
    def short(self) -> bool:
        return self.credits_needed > self.credits_available

    @property
    def can_send(self) -> bool:
        return not self.problems and not self.short and self.messages > 0

    @property
    def summary(self) -> str:
        return segments.describe(segments.Parts(self.encoding, self.parts, 0, 0, 0, ()))

    def as_dict(self) -> dict:
        return {
            "messages": self.messages,
            "excluded": excluded_rows(self.excluded),
            "excluded_total": self.excluded_total,
            "encoding": self.encoding,
            "parts": self.parts,
            "per_part": self.per_part,
            "characters_left": self.characters_left,
            "ucs2_characters": list(self.ucs2_characters),
            "summary": self.summary,
            "credits_needed": self.credits_needed,
            "credits_available": self.credits_available,
            "short": self.short,
            "problems": self.problems,
            "refusal": self.refusal or None,
            "can_send": self.can_send,
            "samples": [sample.as_dict() for sample in self.samples],
            "header": self.header,
            "footer": self.footer,
            "header_footer_omitted": self.header_footer_omitted,
            "header_footer_required": self.header_footer_required,
            "ucs2_from_options": list(self.ucs2_from_options),
        }


@dataclass
class _Draft:
    text: str  # as sent, before merging: header, typed text, footer
    plan: RecipientPlan | None  # None: a preview from the plan's counts alone
    merged: _Merged | None
    preview: Preview

    @property
    def parts(self) -> list[int]:
        return self.merged.parts


def _draft(
    *,
    organization: Organization,
    selection: Selection,
    text: str,
    omit: bool = False,
    counted: bool = False,
) -> _Draft:
    """The text as sent, the plan, every recipient's merged text and the preview of them.

    ``counted`` (the preview alone): the preview needs only the plan's counts, what each
    recipient's text costs and the recipients it shows, which PostgreSQL counts for families
    (``recipients_counted``: recipients in groups whose texts count alike) without the plan;
    the draft then has no plan (``plan`` and ``merged`` None)."""
    typed = text.strip()
    preview = Preview(credits_available=credits_balance(organization=organization))
    text = _wrapped(organization, typed, omit, preview)
    preview.refusal = sms_refusal(organization=organization) or ""
    if preview.refusal:
        preview.problems.append(preview.refusal)
    preview.problems.extend(_text_problems(organization, text))
    used = segments.merge_fields_used(text)
    counts = None
    if counted:
        counts = recipients_counted(
            organization=organization, selection=selection, merge_fields=used
        )
    worst = None if counts is None else _from_counts(preview, organization, text, used, counts)
    if worst is not None:
        plan = merged = None
    else:
        plan = recipients_plan(organization=organization, selection=selection, merge_fields=used)
        merged = _Merged(text, used, plan, organization)
        worst = merged.worst
        preview.messages, preview.excluded = len(plan.recipients), plan.excluded_by_reason
        preview.credits_needed = sum(merged.parts)
        preview.samples = _samples(plan, merged)
        if merged.refused_at is not None:
            # A name merged in can bring a character no typed text may hold (a pasted ESC in
            # a family's name): the first such recipient is named, so that name gets fixed.
            who = plan.recipients[merged.refused_at].owner_label
            preview.problems.append(
                refused_characters_message(
                    merged.text(merged.refused_at), what=f"The message to {who}"
                )
            )
    preview.encoding, preview.parts = worst.encoding, worst.parts
    preview.per_part, preview.characters_left = worst.per_part, worst.remaining
    preview.ucs2_characters = segments.ucs2_characters(text) or worst.ucs2_characters
    if not typed and not preview.header_footer_omitted and (preview.header or preview.footer):
        _room_before_typing(organization, preview)
    if not typed:
        preview.problems.append("Type a message first.")
    elif worst.too_long:
        limit = 153 * segments.MAX_PARTS if worst.encoding == segments.GSM7 else 67 * 10
        preview.problems.append(
            f"This message needs {worst.parts} parts; the most is {segments.MAX_PARTS} "
            f"(about {limit:,} characters in {worst.encoding}). Shorten it."
        )
    if not preview.messages:
        preview.problems.append(nobody_message(preview.excluded))
    return _Draft(text=text, plan=plan, merged=merged, preview=preview)


def _from_counts(
    preview: Preview, organization: Organization, text: str, used: frozenset, counts: PlanCounts
) -> segments.Parts | None:
    """Fill the preview from the counts (``recipients_counted``) as ``_Merged`` and
    ``_samples`` fill it from the plan, and give the costliest text's Parts: each group of
    recipients counts as its first does, so the text of each group's first is counted once.
    None when the samples need more of the plan's order than the counts read (fewer distinct
    texts than samples among the first names): the caller then makes the plan."""
    merging = (
        segments.Merging(text, NAME_FIELDS, {"organization": organization.name}) if used else None
    )

    def text_of(planned: PlannedRecipient) -> str:
        return merging.text(planned.merge_names) if merging else text

    plain = segments.count_parts(text)
    counted: dict[tuple, tuple] = {}

    def count(planned: PlannedRecipient) -> tuple:  # parts, units, length, refused
        if merging is None:
            return plain.parts, plain.units, len(text), False
        found = counted.get(planned.merge_names)
        if found is None:
            found = counted[planned.merge_names] = merging.count(planned.merge_names)
        return found

    credits, most, longest, costliest, longest_one, refused = (
        0,
        (-1, -1),
        (-1, -1),
        None,
        None,
        None,
    )
    for group in counts.groups:  # in the plan's order: the first of equals is kept, as there
        found = count(group.first)
        credits += found[0] * group.recipients
        if found[:2] > most:
            most, costliest = found[:2], group.first
        if (found[0], found[2]) > longest:
            longest, longest_one = (found[0], found[2]), group.first
        if found[3] and refused is None:
            refused = group.first
    varies = any(name in used for name in NAME_FIELDS)  # else every text is the same
    samples = _samples_counted(counts, longest_one, text_of, varies)
    if samples is None:
        return None
    preview.messages, preview.excluded = counts.messages, counts.excluded_by_reason
    preview.credits_needed = credits
    preview.samples = [
        Sample(
            e164=planned.e164,
            owner_label=planned.owner_label,
            text=text_of(planned),
            parts=count(planned)[0],
            shared_by=planned.shared_by,
        )
        for planned in samples
    ]
    if refused is not None:  # as from the plan (_draft)
        preview.problems.append(
            refused_characters_message(
                text_of(refused), what=f"The message to {refused.owner_label}"
            )
        )
    return segments.count_parts(text_of(costliest)) if costliest else plain


def _samples_counted(
    counts: PlanCounts, longest, text_of, varies: bool
) -> list[PlannedRecipient] | None:
    """``_samples`` from the counts: the first recipient, the first shared one, the longest,
    then the first recipients of texts not shown yet (only a distinct name's first recipient
    can bring one), read from ``counts.firsts``; None when those run out before the samples
    are complete and more may follow."""
    if not counts.groups:
        return []
    picks = [counts.groups[0].first]  # the groups come in the plan's order of their firsts
    shared = next((g.first for g in counts.groups if g.first.shared_by > 1), None)
    picks += [planned for planned in (shared, longest) if planned is not None]
    picks = list({id(planned): planned for planned in picks}.values())
    if not varies:  # no names merged: one text for everyone, shown already
        return picks[:SAMPLES]
    seen = {text_of(planned) for planned in picks}
    for group in counts.firsts:
        if len(picks) >= SAMPLES:
            break
        candidate = text_of(group.first)
        if candidate not in seen:
            seen.add(candidate)
            picks.append(group.first)
    if len(picks) < SAMPLES and not counts.firsts_complete:
        return None
    return picks[:SAMPLES]


def _wrapped(organization: Organization, typed: str, omit: bool, preview: Preview) -> str:
    """The text as sent: the organization's header and footer around what was typed (one
    concatenation: merging and counting then see the whole text, at no cost per recipient)."""
    options = ctia.message_options_for(organization)
    preview.header, preview.footer = options.header.strip(), options.footer.strip()
    preview.header_footer_required = ctia.why_footer_stays(organization)
    if omit and preview.header_footer_required:
        preview.problems.append(
            "The header and footer cannot be left out: " + preview.header_footer_required
        )
    preview.header_footer_omitted = omit and ctia.may_omit(organization)
    if preview.header_footer_required:  # saved before the law's check, or the sender changed
        missing = ctia.footer_missing(
            organization,
            header=preview.header,
            footer=preview.footer,
            reply_path=ctia.reply_path(organization),
        )
        if missing:
            preview.problems.append(
                f"{preview.header_footer_required} The footer lacks {', '.join(missing)}: an "
                "admin fixes it in Settings > SMS & Voice > Message options."
            )
    if not typed:
        return ""
    return ctia.wrap(typed, options, omit=omit)


def _room_before_typing(organization: Organization, preview: Preview) -> None:
    """Before anything is typed, the count says what the header and footer leave: one
    character stands for the text, and is given back."""
    room = segments.count_parts(ctia.wrap(" ", ctia.message_options_for(organization)))
    preview.encoding, preview.per_part = room.encoding, room.per_part
    preview.characters_left, preview.ucs2_characters = room.remaining + 1, room.ucs2_characters


def _text_problems(organization: Organization, text: str) -> list[str]:
    problems = []
    if sending_suspended(organization=organization):
        problems.append(
            f"Sending is suspended: {sending_suspended_reason(organization=organization)}"
        )
    for problem in (refused_characters_message(text), segments.merge_field_problem(text)):
        if problem:
            problems.append(problem)
    return problems


# The names a recipient's own merge fields are filled from, in PlannedRecipient.merge_names.
NAME_FIELDS = ("first_name", "family_name", "student_first_name")


class _Merged:
    """Every recipient's merged text as the preview and the create need it: its parts (and so
    its credits) for everyone; the costliest text's Parts; the first recipient whose text holds
    a refused character, and the first of the longest. Counted from the names alone
    (segments.Merging): a school's 50,000 families have some 48,000 different greetings, and
    merging and counting each text whole took about 1 s of a preview. The texts themselves are
    made only when asked for: the create writes them all, the preview shows a few. Recipients
    with the same names (the plan fills only those the text uses) are counted once."""

    def __init__(
        self, text: str, used: frozenset[str], plan: RecipientPlan, organization: Organization
    ) -> None:
        self._recipients = recipients = plan.recipients
        self.refused_at: int | None = None
        self.longest = 0  # the first recipient of the most parts, then characters
        if not used or not recipients:
            self.worst = segments.count_parts(text)
            self.parts = [self.worst.parts] * len(recipients)
            self._merging, self._text, self.distinct_at_most = None, text, 1
            return
        self._merging = merging = segments.Merging(
            text, NAME_FIELDS, {"organization": organization.name}
        )
        parts, known = [], {}
        most, costliest, longest = (-1, -1), 0, (-1, -1)
        for i, planned in enumerate(recipients):
            names = planned.merge_names
            found = known.get(names)
            if found is None:
                found = known[names] = merging.count(names)  # parts, units, length, refused
                if found[:2] > most:
                    most, costliest = found[:2], i
                if (found[0], found[2]) > longest:
                    longest, self.longest = (found[0], found[2]), i
                if found[3] and self.refused_at is None:
                    self.refused_at = i
            parts.append(found[0])
        self.parts = parts
        self.worst = segments.count_parts(self.text(costliest))
        self.distinct_at_most = len(known)  # distinct names: there are no more texts than that

    def text(self, i: int) -> str:
        """The i-th recipient's text."""
        if self._merging is None:
            return self._text
        return self._merging.text(self._recipients[i].merge_names)

    def texts(self) -> list[str]:
        if self._merging is None:
            return [self._text] * len(self._recipients)
        text = self._merging.text
        return [text(planned.merge_names) for planned in self._recipients]


def _samples(plan: RecipientPlan, merged: _Merged) -> list[Sample]:
    """A few recipients' own messages to step through: the first, a number several owners
    share (its names are joined), the longest, then others with a text not yet shown."""
    if not plan.recipients:
        return []
    picks = [0]
    shared = next((i for i, r in enumerate(plan.recipients) if r.shared_by > 1), None)
    picks += [i for i in (shared, merged.longest) if i is not None]
    seen_texts = {merged.text(i) for i in picks}
    for i in range(len(plan.recipients)):
        if len(dict.fromkeys(picks)) >= SAMPLES or len(seen_texts) >= merged.distinct_at_most:
            break  # enough, or every text shown already (a text without merge fields)
        text = merged.text(i)
        if text not in seen_texts:
            seen_texts.add(text)
            picks.append(i)
    return [
        Sample(
            e164=plan.recipients[i].e164,
            owner_label=plan.recipients[i].owner_label,
            text=merged.text(i),
            parts=merged.parts[i],
            shared_by=plan.recipients[i].shared_by,
        )
        for i in list(dict.fromkeys(picks))[:SAMPLES]
    ]


def broadcast_preview(
    *,
    organization: Organization,
    selection: Selection,
    text: str,
    omit_header_footer: bool = False,
) -> Preview:
    # The collector stays paused until the plan is freed again (see gc_paused): it would
    # otherwise walk every object of a large plan once or twice for nothing.
    with gc_paused():
        return _draft(
            organization=organization,
            selection=selection,
            text=text,
            omit=omit_header_footer,
            counted=True,
        ).preview


def broadcast_create(
    *,
    organization: Organization,
    sender: StaffMember,
    selection: Selection,
    text: str,
    omit_header_footer: bool = False,
) -> Broadcast:
    """Create the broadcast, its recipients and the debit in one transaction, then fan out.
    Its text is stored as sent (header and footer included, merge fields as typed).

    Refused (BroadcastRefused, nothing written, nothing charged) when anything in the
    preview's problems applies or the credits are short.
    """
    with gc_paused():  # as in broadcast_preview: the plan is freed before the collector runs
        return _create(organization, sender, selection, text, omit_header_footer)


def _create(
    organization: Organization,
    sender: StaffMember,
    selection: Selection,
    text: str,
    omit_header_footer: bool,
) -> Broadcast:
    draft = _draft(
        organization=organization, selection=selection, text=text, omit=omit_header_footer
    )
    preview = draft.preview
    if preview.problems:
        raise BroadcastRefused(preview.problems[0])
    if preview.short:
        raise BroadcastRefused(_short_message(preview.credits_needed, preview.credits_available))
    number = sending_number_active(organization=organization)
    from credits.services import InsufficientCredits

    try:
        with transaction.atomic():
            broadcast = Broadcast.objects.create(
                organization=organization,
                channel=Broadcast.Channel.SMS,
                selection_kind=selection.kind,
                selection=selection.to_dict(),
                text=draft.text,
                encoding=preview.encoding,
                max_parts=preview.parts,
                sender=sender,
                sender_label=sender.full_name,
                from_e164=number.e164,
                recipient_count=preview.messages,
                excluded_count=preview.excluded_total,
                credits_debited=preview.credits_needed,
            )
            recipients_insert(
                broadcast=broadcast,
                recipients=draft.plan.recipients,
                texts=draft.merged.texts(),
                parts=draft.parts,
                credits=draft.parts,
                excluded=draft.plan.excluded,
            )
            credits_debit(
                organization=organization,
                credits=preview.credits_needed,
                reference=broadcast.debit_reference,
                actor=sender.user,
                memo=f"SMS broadcast {broadcast.pk} to {_numbers(preview.messages)}",
            )
            transaction.on_commit(lambda: enqueue_dispatch(broadcast.pk))
    except InsufficientCredits as short:
        raise BroadcastRefused(_short_message(short.needed, short.available)) from None
    except IntegrityError as error:
        if not directory_changed(error):
            raise
        logger.info("broadcast refused: the directory changed while it was written: %s", error)
        raise BroadcastRefused(DIRECTORY_CHANGED) from None
    return broadcast


def _numbers(n: int) -> str:
    return ngettext("%(n)s number", "%(n)s numbers", n) % {"n": f"{n:,}"}


def _short_message(needed: int, available: int) -> str:
    needs = ngettext("This needs %(n)s credit", "This needs %(n)s credits", needed)
    only = ngettext("only %(n)s is available", "only %(n)s are available", available)
    return (
        f"{needs % {'n': f'{needed:,}'}} but {only % {'n': f'{available:,}'}}. "
        "Buy credits or send to fewer people."
    )
