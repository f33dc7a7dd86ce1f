"""The revocation rules (broadcasts/sms/revocation.py) on real-world replies, both ways."""

import pytest

from broadcasts.sms.revocation import Verdict, normalized, revocation_read

REVOKE, UNCLEAR, NOT = Verdict.REVOKE, Verdict.UNCLEAR, Verdict.NOT

TABLE = [
    # keywords and their spellings
    ("STOP", REVOKE),
    ("stop.", REVOKE),
    ("Unsubscribe", REVOKE),
    ("CANCEL", REVOKE),
    ("End", REVOKE),
    ("quit", REVOKE),
    ("Opt out", REVOKE),
    ("opt-out", REVOKE),
    ("STOPALL", REVOKE),
    ("Stopp", REVOKE),
    ("unsubcribe", REVOKE),
    ("STOP ALL", REVOKE),
    ("Alto", REVOKE),
    ("No más", REVOKE),
    # revocations in words
    ("stop texting me", REVOKE),
    ("Please stop", REVOKE),
    ("please stop.", REVOKE),
    ("unsubscribe me", REVOKE),
    ("Remove me from this list", REVOKE),
    ("no more texts", REVOKE),
    ("No more messages please", REVOKE),
    ("STOP!!! wrong number", REVOKE),
    ("Stop. I never signed up for this", REVOKE),
    ("stop sending me these", REVOKE),
    ("Can you stop texting this number", REVOKE),
    ("Why don't you stop messaging me", REVOKE),
    ("can you stop?", REVOKE),
    ("Stop it", REVOKE),
    ("stop now", REVOKE),
    ("just stop", REVOKE),
    ("I said STOP", REVOKE),
    ("please take me off your list", REVOKE),
    ("Take us off the mailing list", REVOKE),
    ("delete my number from your system", REVOKE),
    ("remove me", REVOKE),
    ("don't text me anymore", REVOKE),
    ("Do not contact me again", REVOKE),
    ("please do not text this number", REVOKE),
    ("I don't want these texts", REVOKE),
    ("I no longer want to receive messages", REVOKE),
    ("Cancel my subscription", REVOKE),
    ("cancel these messages", REVOKE),
    ("end all texts", REVOKE),
    ("quit texting me", REVOKE),
    ("how do I unsubscribe from these?", REVOKE),
    ("I revoke my consent", REVOKE),
    ("opt me out", REVOKE),
    ("Wrong number", REVOKE),
    ("This is the wrong number, who is this", REVOKE),
    ("leave me alone", REVOKE),
    ("Stop the texts about swim meets", REVOKE),
    ("ya no me envíen mensajes", REVOKE),
    ("ok quit", REVOKE),
    ("Cancel please", REVOKE),
    ("Stop, stop, stop", REVOKE),
    # naming calls
    ("stop calling me", REVOKE),
    ("Don't call me", REVOKE),
    ("no more calls please", REVOKE),
    # unclear: kept for staff
    ("can I cancel Tuesday's lesson?", UNCLEAR),
    ("We need to cancel for tomorrow", UNCLEAR),
    ("My son wants to quit gymnastics", UNCLEAR),
    ("Please cancel Emma's enrollment", UNCLEAR),
    ("Can we cancel the trial class", UNCLEAR),
    ("I'd like to stop my daughter's classes", UNCLEAR),
    ("when do classes stop?", UNCLEAR),
    ("sorry we have to cancel", UNCLEAR),
    ("Not interested", UNCLEAR),
    ("I never signed up for this", UNCLEAR),
    ("too many texts", UNCLEAR),
    ("Why do I keep getting these?", UNCLEAR),
    ("How did you get my number", UNCLEAR),
    ("this is spam", UNCLEAR),
    ("Cancel my account", UNCLEAR),
    ("want to end the membership", UNCLEAR),
    # not revocations
    ("don't stop the lessons!", NOT),
    ("when does the session end?", NOT),
    ("What time does class end today?", NOT),
    ("Please don't stop sending these, they help a lot", NOT),
    ("The kids can't stop talking about the show", NOT),
    ("I'll stop by the front desk at 5", NOT),
    ("We had to stop at the store, running 10 min late", NOT),
    ("Will lessons stop for the holidays?", NOT),
    ("See you at the end of class", NOT),
    ("end of season party is when?", NOT),
    ("Is class cancelled today?", NOT),
    ("Thanks! See you Saturday", NOT),
    ("Who is this?", NOT),
    ("yes", NOT),
    ("No", NOT),
    ("OK thanks", NOT),
    ("Emma is sick, she won't make it", NOT),
    ("Can I pay at the front desk?", NOT),
    ("HELP", NOT),
    ("Don't ever stop, you guys are great", NOT),
    ("Does practice end early tomorrow?", NOT),
    ("is the bus stop by the gym?", NOT),
    ("Please stop by the office to pick up the uniform", NOT),
    ("Can you please stop by the front desk?", NOT),
    ("Stopped by but you were closed", NOT),
    ("Happy end of term everyone!", NOT),
    ("At the end of the message you said 5pm, is that right?", NOT),
    ("Can you stop charging my card twice?", UNCLEAR),
    ("Stop charging my card", UNCLEAR),
    ("We'd like to opt out of picture day", UNCLEAR),
    ("I quit the team", UNCLEAR),
    ("opt out of texts please", REVOKE),
    ("Yes stop", REVOKE),
    ("", NOT),
]


def test_the_table_is_large_and_goes_both_ways():
    verdicts = [v for _, v in TABLE]
    assert len(TABLE) >= 60
    assert verdicts.count(REVOKE) >= 20 and verdicts.count(NOT) >= 20
    assert verdicts.count(UNCLEAR) >= 10


@pytest.mark.parametrize(("body", "verdict"), TABLE, ids=[b or "(empty)" for b, _ in TABLE])
def test_each_reply_reads_as_the_table_says(body, verdict):
    reading = revocation_read(body)
    assert reading.verdict is verdict, reading.rule
    assert reading.rule


@pytest.mark.parametrize(
    ("body", "calls"),
    [
        ("stop calling me", True),
        ("Don't call me", True),
        ("no more calls please", True),
        ("STOP", False),
        ("stop texting me", False),
        ("no llamen más, no más mensajes", True),
    ],
)
def test_a_revocation_names_calls_only_when_it_says_so(body, calls):
    reading = revocation_read(body)
    assert reading.revokes and reading.calls is calls


def test_normalized_keeps_sentence_marks_and_one_spelling():
    assert normalized("Don’t STOP!!! Opt-out?") == "dont stop . optout ?"
