"""Reading a reply for a revocation of consent "by any reasonable means" (FCC, 47 CFR
64.1200(a)(10)-(12), in force since 11 April 2025).

``revocation_read(body)`` returns a ``Reading``: ``verdict`` (revoke / unclear / not), the
``rule`` that decided, in words (kept on the consent event and shown to staff), and
``calls`` (the reply names calls, so it stops voice broadcasts as well as texts).

The rules, in the order they are tried (RULES_VERSION names this set; it is written on every
consent event a reading causes, so evidence says which rules read the words):

1. A one-word keyword (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, OPTOUT, REVOKE, in any
   case and punctuation) is a revocation (``keywords.keyword_of``), and so is a common
   misspelling of one on its own ("stopp", "unsubcribe") or a foreign word for it ("alto",
   "basta", "no más", "arrêt").
2. A message that starts with STOP revokes ("STOP!!! wrong number", "Stop. I never signed
   up"), unless it is "stop by|in|at|for|over" or about a class or a payment ("Stop charging
   my card": rule 5). "Can you stop?", "would you please stop" (asking the sender, with
   nothing after but "please", "now", "it"…) revoke too.
3. Words that keep a per-se word from revoking are set aside first: "end" of time ("the
   end", "end of", "end time", "end early", "end at"), and a negation before the word in the
   same clause ("don't stop the lessons!", "the kids can't stop talking about it"; but "why
   don't you stop texting me" still revokes).
4. A clear revocation in words revokes, wherever it is in the message:
   "stop/quit/end/cancel texting|sending|calling|messaging|contacting…", "stop/cancel (all|
   these|my…) texts|messages|alerts|calls|subscription", "please stop", "stop please|now|it|
   all", "just stop", "unsubscribe", "opt out" / "opt me out" / "opt out of (these) texts",
   "revoke", "don't text|call|message|contact me", "don't want (these) texts", "no more
   texts|messages|calls", "remove me", "take me off your list", "delete my number", "leave
   me alone", "wrong number". Then uses of the words that are not about messages are set
   aside: "stop by|in|at|for|over", "bus stop", "non-stop", any "when/what time … end".
5. A per-se word that is left (stop, quit, end, cancel) decides by its context:
   - about a class or a payment (lesson, class, practice, session, booking, enrollment,
     membership, account, team, card, fees, a weekday, today, tomorrow…), in a question,
     or as "to cancel"/"to quit" ("can I cancel Tuesday's lesson?", "my son wants to quit
     gymnastics", "we have to cancel"): **unclear**, kept for staff. The law names these
     words, but a parent cancelling a lesson has not asked to stop texts; silently
     opting them out would cut them off from closures, and silently ignoring it would
     risk the law, so a person decides (well inside the 10 business days);
   - otherwise ("ok quit", "I said end", "yes stop"): **revoke**, as the law says.
6. No per-se word: words that may mean "no more" but not surely ("not interested", "I never
   signed up", "too many texts", "why do I get these", "spam", "how did you get my number",
   "opt out of picture day", "remove me from the waitlist") are **unclear**; anything else
   ("who is this?", "see you Saturday", "yes", "no") is **not** a revocation.

A reply "names calls" when it says call/calls/calling/phone/voicemail/ring (or "llamar…"):
such a revocation stops voice broadcasts too (a voice opt-out, as pressing 9 does). Every
revocation stops texts, even "stop calling me": it was texted in reply to a text, "stop" is
a per-se word, and honouring more than was asked is safe where honouring less is not.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass

from broadcasts.sms.keywords import Keyword, keyword_of

RULES_VERSION = "revocation rules v2 (FCC 2025-04-11)"


class Verdict(enum.Enum):
    REVOKE = "revoke"
    UNCLEAR = "unclear"
    NOT = "not"


@dataclass(frozen=True)
class Reading:
    verdict: Verdict
    rule: str
    calls: bool = False

    @property
    def revokes(self) -> bool:
        return self.verdict is Verdict.REVOKE


# --- word lists ---

PER_SE = r"(?:stop|quit|end|cancel)"
NEG = r"(?:dont|never|cant|wont|not|didnt|doesnt|wouldnt|couldnt|shouldnt|no\s+need\s+to)"
SENDING = (
    r"(?:send|sending|text|texting|txting|texts|messaging|message|calling|call|contacting|"
    r"contact|spamming|bothering|harassing|pestering|ringing|emailing|sms|these\s+texts)"
)
DET = (
    r"(?:all|the|these|those|this|that|your|ur|my|any|future|further|more|automated|auto|"
    r"mass|group|bulk|marketing|promotional|text|sms|phone|of|with|me|us|sending)"
)
MSG = (
    r"(?:texts?|txts?|messages?|msgs?|sms|notifications?|alerts?|reminders?|calls?|"
    r"robocalls?|voicemails?|subscriptions?|messaging|updates|spam|list|mailing\s+list)"
)
CLASS = (
    r"(?:lessons?|class(?:es)?|practices?|sessions?|bookings?|appointments?|registrations?|"
    r"enrol(?:l)?ments?|memberships?|trials?|makeups?|make\s+ups?|party|parties|camps?|tuition|"
    r"payments?|autopay|spot|slot|account|team|meet|recital|rehearsal|gymnastics|swim(?:ming)?|"
    r"dance|ballet|karate|taekwondo|judo|tumbling|cheer|program|course|semester|term|today|"
    r"tomorrow|tonight|week|weekend|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun|pm|am|o'?clock|card|charg\w*|billing|bill|"
    r"fees?|refunds?|invoices?|picture\s+day|photos?|fundraiser|event|trip)"
)
CALLS = (
    r"\b(?:call|calls|calling|called|phone\s+calls?|voicemails?|ring|ringing|robocalls?|llam\w*)\b"
)
FILLER = (
    r"(?:please|pls|plz|now|it|this|all|thanks|thank\s+you|thx|ty|asap|immediately|ok|okay|"
    r"me|already|right\s+now|for\s+good|forever|stop|quit|end|cancel|again|too|them|that)"
)
QUESTION_START = (
    r"^(?:when|what|where|why|how|who|which|will|would|does|do|did|is|are|can|could|should|"
    r"shall|may)\b"
)

_ALONE_REVOKE = frozenset(
    {
        "stopp",
        "stpo",
        "sotp",
        "stip",
        "unsubcribe",
        "unsubscibe",
        "unsuscribe",
        "unsubscrib",
        "unsub",
        "unsubscribe me",
        "alto",
        "basta",
        "parar",
        "para",
        "cancelar",
        "no mas",
        "baja",
        "arret",
        "arreter",
        "desabonner",
        "stop svp",
        "stop all",
        "stop stop",
        "stop stop stop",
        "no more",
        "no more please",
        "opt out",
        "remove",
        "remove me",
    }
)

_CONTRACTIONS = [
    (r"\b(?:don'?t|do\s+not)\b", "dont"),
    (r"\b(?:can'?t|cannot|can\s+not)\b", "cant"),
    (r"\b(?:won'?t|will\s+not)\b", "wont"),
    (r"\b(?:didn'?t|did\s+not)\b", "didnt"),
    (r"\b(?:doesn'?t|does\s+not)\b", "doesnt"),
    (r"\b(?:wouldn'?t|would\s+not)\b", "wouldnt"),
    (r"\b(?:couldn'?t|could\s+not)\b", "couldnt"),
    (r"\b(?:shouldn'?t|should\s+not)\b", "shouldnt"),
    (r"\bopt(?:\s*-\s*|\s+)?out\b", "optout"),
    (r"\bopt\s+(?:me|us|my\s+number)\s+out\b", "optout"),
    (r"\bun\s*-?\s*subscribe\b", "unsubscribe"),
    (r"\bno\s+mas\b", "no mas"),
]

# Said to the sender, these make the rest an imperative: "can you stop?" is "stop".
_ASKING = re.compile(
    r"\b(?:why\s+(?:dont|wont|cant)\s+you|(?:can|could|would|will|cant|wont)\s+(?:you|u|y'?all))"
    r"(?:\s+(?:please|pls|just|kindly))*\b"
)
_NEGATED = re.compile(rf"\b({NEG}\s+(?:ever\s+)?(?:[a-z']+\s+){{0,2}}?)({PER_SE})\b")

_CLEAR = [
    (rf"\b{PER_SE}\s+(?:me\s+)?{SENDING}\b", "asks to stop sending, texting or calling"),
    (rf"\b{PER_SE}\s+(?:{DET}\s+){{0,3}}{MSG}\b", "asks to stop the texts or calls"),
    (
        r"\b(?:please|pls|plz|just|now|i\s+said|said)\s+(?:just\s+)?stop\b"
        r"(?!\s+(?:by|in|at|for|over|off)\b)",
        "“please stop”",
    ),
    (rf"\bstop\s+{FILLER}\s*(?:[.!]|$)", "“stop please”, “stop it”, “stop now”"),
    (r"\bunsubscribe\b|\bunsub\b", "the word unsubscribe"),
    (
        rf"\boptout\b(?!\s+of\b)|\boptout\s+of\s+(?:{DET}\s+){{0,3}}{MSG}\b",
        "the words opt out",
    ),
    (r"\brevoke\b|\brevoking\b", "the word revoke"),
    (r"\bstopall\b", "the word stopall"),
    (
        r"\b(?:dont|never|no\s+longer|stop)\s+(?:ever\s+)?(?:text|txt|message|msg|sms|call|"
        r"contact|email|ring|send\s+me|send\s+us|send\s+this\s+number)\b",
        "asks not to be texted or called",
    ),
    (
        rf"\b(?:dont|no\s+longer|never)\s+(?:want|need|wish\s+to\s+(?:get|receive))\s+(?:to\s+"
        rf"(?:get|receive)\s+)?(?:{DET}\s+){{0,3}}{MSG}\b",
        "does not want the texts",
    ),
    (rf"\bno\s+(?:more|further)\s+(?:{DET}\s+){{0,2}}{MSG}\b", "“no more texts”"),
    (r"\bno\s+mas\b|\bya\s+no\s+(?:me\s+)?(?:envi|mand|escrib|llam)\w*", "“no más” (Spanish)"),
    (r"\bno\s+me\s+(?:envi|mand|escrib|llam|text)\w*", "“no me envíen” (Spanish)"),
    (
        r"\b(?:remove|delete|take|drop|erase|unenroll)\s+(?:me|us|my\s+(?:number|phone|cell|"
        r"info|name|contact|details)|this\s+number|our\s+number)\s+(?:off|from)\s+(?:{DET}\s+)"
        r"{0,3}(?:list|lists|texts?|messages?|texting|mailing|contacts?|system|database|"
        r"subscribers?)\b".replace("{DET}", DET),
        "asks to be removed from the list",
    ),
    (
        r"\boff\s+(?:{DET}\s+){0,3}(?:list|lists|mailing\s+list)\b".replace("{DET}", DET),
        "asks to be taken off the list",
    ),
    (
        r"\b(?:remove|delete)\s+(?:me|us|my\s+number|this\s+number)\s*(?:please|pls|now)?\s*[.!]*$",
        "“remove me”",
    ),
    (r"\btake\s+(?:me|us|my\s+number)\s+off\s*(?:please|pls|now)?\s*[.!]*$", "“take me off”"),
    (r"\bleave\s+(?:me|us)\s+alone\b", "“leave me alone”"),
    (
        r"\bwrong\s+(?:number|person|phone)\b|\bnot\s+(?:my|the\s+right)\s+number\b",
        "“wrong number”",
    ),
]
_CLEAR = [(re.compile(pattern), why) for pattern, why in _CLEAR]

# Per-se words used in a sense that is not about messages (rule 4): set aside.
_END_OF_TIME = re.compile(
    r"\b(?:the|an|at|by|till|until|til|before|after|towards?|near)\s+end\b|\bend\s+(?:of|"
    r"time|times|date|dates|early|late|at|by|on|soon|today|tonight|up|result|game)\b"
)
_NOT_ABOUT_MESSAGES = [
    re.compile(r"\bstop\s+(?:by|in|at|for|over|off)\b"),
    re.compile(r"\b(?:bus|pit|one|full|non|first|last|next)\s*-?\s*stop\b"),
    re.compile(r"\b(?:when|what\s+time|how\s+long|what\s+day)\b[^.!?]*\bend\b"),
]
_STARTS_WITH_STOP = re.compile(r"^stop\b(?!\s+(?:by|in|at|for|over|off)\b)")
_ONLY_STOP = re.compile(rf"^stop(?:\s+{FILLER})*[\s.?!]*$")

_MAYBE = [
    (r"\bnot\s+interested\b", "“not interested”"),
    (r"\boptout\s+of\b", "opts out of something (what?)"),
    (r"\b(?:remove|take|delete)\s+(?:me|us|my\s+number)\b", "asks to be removed (from what?)"),
    (r"\bnever\s+(?:signed|sign)\s+up\b|\bdidnt\s+(?:sign|subscribe|ask)\b", "never signed up"),
    (r"\btoo\s+many\s+(?:texts?|messages?|msgs?|calls?)\b", "too many texts"),
    (
        r"\bwhy\s+(?:do|am|are|does)\s+(?:i|we)\s+(?:keep\s+)?(?:get|getting|receive|receiving)\b",
        "asks why they get these",
    ),
    (r"\bhow\s+did\s+you\s+get\s+(?:my|this)\s+number\b", "asks how we got the number"),
    (r"\bspam\w*\b|\bscam\b|\bharass\w*\b|\breport(?:ing)?\s+(?:you|this)\b", "calls it spam"),
    (r"^(?:enough|go\s+away|please\s+dont)\b[\s.!]*$", "may mean no more"),
]
_MAYBE = [(re.compile(pattern), why) for pattern, why in _MAYBE]


def normalized(body: str) -> str:
    """Lower case, accents and curly quotes gone, contractions and "opt out" in one spelling,
    sentence marks kept as their own tokens (a negation does not reach across them)."""
    text = unicodedata.normalize("NFKD", body or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    text = re.sub(r"[.!?;:,]+", lambda m: " " + ("?" if "?" in m.group() else ".") + " ", text)
    text = re.sub(r"[^a-z0-9'?. ]+", " ", text)
    for pattern, spelled in _CONTRACTIONS:
        text = re.sub(pattern, spelled, text)
    return " ".join(text.split())


def _words_only(text: str) -> str:
    return " ".join(t for t in text.split() if t not in (".", "?"))


def revocation_read(body: str) -> Reading:
    """What a reply says about consent: revoke, unclear (for staff), or not (see module doc)."""
    text = normalized(body)
    calls = bool(re.search(CALLS, text))
    if keyword_of(body) is Keyword.STOP:
        return Reading(Verdict.REVOKE, "a STOP keyword", calls)
    if not text:
        return Reading(Verdict.NOT, "empty")
    if _words_only(text) in _ALONE_REVOKE:
        return Reading(Verdict.REVOKE, "an opt-out word on its own", calls)
    about_class = re.search(rf"\b{CLASS}\b", text) is not None
    if _STARTS_WITH_STOP.search(text) and not about_class:
        return Reading(Verdict.REVOKE, "starts with STOP", calls)
    text = _END_OF_TIME.sub(" ", _ASKING.sub(" ", text)).strip()
    if _ONLY_STOP.search(text):
        return Reading(Verdict.REVOKE, "asks to stop", calls)
    text = _NEGATED.sub(r"\1kept_\2", text)  # "dont stop" -> "dont kept_stop": no word
    for pattern, why in _CLEAR:
        if pattern.search(text):
            return Reading(Verdict.REVOKE, why, calls)
    for pattern in _NOT_ABOUT_MESSAGES:
        text = pattern.sub(" ", text)
    return _per_se_or_maybe(" ".join(text.split()), calls)


def _per_se_or_maybe(text: str, calls: bool) -> Reading:
    word = re.search(rf"(?<!kept_)\b{PER_SE}\b", text)
    if word is None:
        for pattern, why in _MAYBE:
            if pattern.search(text):
                return Reading(Verdict.UNCLEAR, why, calls)
        return Reading(Verdict.NOT, "no opt-out words")
    found = word.group()
    if re.search(rf"\b{CLASS}\b", text):
        return Reading(Verdict.UNCLEAR, f"“{found}” about a class or a day", calls)
    if "?" in text or re.search(QUESTION_START, text):
        return Reading(Verdict.UNCLEAR, f"“{found}” in a question", calls)
    if re.search(
        rf"\b(?:to|gonna|going\s+to|have\s+to|need\s+to|might|may|will)\s+{found}\b", text
    ):
        return Reading(Verdict.UNCLEAR, f"“{found}” of something else (“to {found}”)", calls)
    return Reading(Verdict.REVOKE, f"the per-se word “{found}” in a sentence", calls)
