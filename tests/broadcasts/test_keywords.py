import pytest

from broadcasts.sms.keywords import Keyword, keyword_of


@pytest.mark.parametrize(
    "body",
    [
        "STOP",
        "Stop",
        "stop",
        " stop.",
        "STOP!",
        "stopall",
        "Unsubscribe",
        "cancel",
        "END",
        "quit",
        "OptOut",
        "revoke",
        "\tStop\n",
        "“stop”",
    ],
)
def test_stop_words_in_any_case_and_punctuation_are_stop(body):
    assert keyword_of(body) is Keyword.STOP


@pytest.mark.parametrize("body", ["START", "yes", "Unstop", " start! "])
def test_start_words_resubscribe(body):
    assert keyword_of(body) is Keyword.START


@pytest.mark.parametrize("body", ["HELP", "info", "Help?"])
def test_help_words_ask_who_is_texting(body):
    assert keyword_of(body) is Keyword.HELP


@pytest.mark.parametrize(
    "body", ["STOP please", "please stop", "stopp", "", "   ", "Thanks!", "yes please", "s top"]
)
def test_anything_else_is_not_a_keyword(body):
    assert keyword_of(body) is None
