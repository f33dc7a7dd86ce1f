"""``manage.py consent_audit``: each number's consent state must agree with its evidence.

Checks, per organization (all of them, or ``--organization <id>``):

1. a number's text opt-in (``PhoneNumber.sms_opt_in``) is what its latest own SMS consent
   event says (off when it has none);
2. digits on the STOP list (``OptOut``) are opted in on no number of the organization, and
   their latest SMS event is an opt-out by a revocation (keyword, reply, review, carrier);
3. digits whose latest SMS event is such a revocation are on the STOP list (it was not lost);
4. digits that asked not to be called (``VoiceOptOut``) have a voice opt-out event.

Prints a summary; exits non-zero, naming each disagreement, if there is one.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db.models import OuterRef, Subquery

from broadcasts.models import VoiceOptOut
from broadcasts.sms.optouts import REVOCATION_SOURCES
from families.models import ConsentEvent, OptOut, PhoneNumber
from smsvoice.models import Organization

REVOCATIONS = REVOCATION_SOURCES


class Command(BaseCommand):
    help = "Check that every number's consent state agrees with its consent events."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--organization", type=int, help="Only this organization's id.")

    def handle(self, *args, **options) -> None:
        organizations = Organization.objects.order_by("pk")
        if options["organization"]:
            organizations = organizations.filter(pk=options["organization"])
        problems, counts = [], {"numbers": 0, "stops": 0, "calls": 0}
        for organization in organizations:
            found, checked = consent_disagreements(organization=organization)
            problems += [f"{organization} (id {organization.pk}): {p}" for p in found]
            for key, value in checked.items():
                counts[key] += value
        for problem in problems:
            self.stderr.write(problem)
        summary = (
            f"{len(organizations)} organization(s), {counts['numbers']} number(s), "
            f"{counts['stops']} on the STOP list, {counts['calls']} asked not to be called"
        )
        if problems:
            raise CommandError(
                f"{len(problems)} disagreement(s) between state and events; {summary}"
            )
        self.stdout.write(f"OK: every state agrees with its events ({summary}).")


def _latest(events) -> Subquery:
    return Subquery(events.order_by("-created_at", "-id").values("opted_in")[:1])


def consent_disagreements(*, organization: Organization) -> tuple[list[str], dict[str, int]]:
    """The organization's disagreements between consent state and events, and what was
    checked (numbers, STOP list entries, call opt-outs)."""
    sms = ConsentEvent.objects.filter(organization=organization, channel=ConsentEvent.Channel.SMS)
    numbers = PhoneNumber.objects.for_org(organization).annotate(
        last=_latest(sms.filter(phone_number=OuterRef("pk")))
    )
    problems, checked = [], {"numbers": 0, "stops": 0, "calls": 0}
    opted_in_digits = set()
    for pk, e164, opted_in, last in numbers.values_list("pk", "e164", "sms_opt_in", "last"):
        checked["numbers"] += 1
        if opted_in:
            opted_in_digits.add(e164)
        if opted_in != bool(last):
            said = (
                "no event" if last is None else f"its latest event opted {'in' if last else 'out'}"
            )
            problems.append(
                f"number {pk} ({e164}) has texts {'on' if opted_in else 'off'} but {said}"
            )
    latest = _latest_by_digits(sms)
    stops = set(OptOut.objects.for_org(organization).values_list("e164", flat=True))
    checked["stops"] = len(stops)
    for e164 in sorted(stops):
        if e164 in opted_in_digits:
            problems.append(f"{e164} is on the STOP list but a number with it has texts on")
        opted_in, source = latest.get(e164, (None, None))
        if opted_in is not False or source not in REVOCATIONS:
            problems.append(f"{e164} is on the STOP list without a revocation as its latest event")
    for e164, (opted_in, source) in sorted(latest.items()):
        if opted_in is False and source in REVOCATIONS and e164 not in stops:
            problems.append(f"{e164} revoked ({source}) but is not on the STOP list")
    problems += _calls_disagreements(organization, checked)
    return problems, checked


def _latest_by_digits(sms) -> dict[str, tuple[bool, str]]:
    """Each number's latest SMS event by digits (attached to a number or bare)."""
    latest: dict[str, tuple[bool, str]] = {}
    rows = sms.order_by("e164", "-created_at", "-id").values_list("e164", "opted_in", "source")
    for e164, opted_in, source in rows.iterator(chunk_size=5000):
        latest.setdefault(e164, (opted_in, source))
    return latest


def _calls_disagreements(organization: Organization, checked: dict[str, int]) -> list[str]:
    voice_out = set(
        ConsentEvent.objects.filter(
            organization=organization, channel=ConsentEvent.Channel.VOICE, opted_in=False
        ).values_list("e164", flat=True)
    )
    problems = []
    for e164 in VoiceOptOut.objects.for_org(organization).values_list("e164", flat=True):
        checked["calls"] += 1
        if e164 not in voice_out:
            problems.append(f"{e164} asked not to be called but has no voice opt-out event")
    return problems
