"""The CTIA / CASL / Spam Act checks and the default texts of broadcasts.sms.ctia."""

import pytest

from broadcasts.sms import ctia
from smsvoice.models import MessageOptions
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def gym(db):
    return OrganizationFactory(name="Sunrise Gym", contact_phone="+1 555 201 0000", country="US")


def test_the_defaults_pass_their_own_checks(gym):
    options = ctia.message_options_for(gym)
    purpose = ctia.purpose_of(options)
    assert ctia.help_reply_missing(ctia.help_reply_text(gym), gym, purpose) == []
    assert ctia.stop_reply_missing(ctia.stop_reply_text(gym), gym) == []
    assert ctia.signup_missing(ctia.signup_text(gym), gym) == []
    assert ctia.signup_text(gym) == (
        "Sunrise Gym: you're signed up for class updates and closures by text. Msg frequency "
        "varies. Msg & data rates may apply. Reply HELP for help, STOP to opt out."
    )
    assert "+1 555 201 0000" in ctia.help_reply_text(gym)


def test_options_are_made_once_with_a_law_footer_in_canada_and_australia(gym):
    assert ctia.message_options_for(gym).footer == ""
    for country in ("CA", "AU"):
        org = OrganizationFactory(name=f"Maple Swim {country}", country=country)
        options = ctia.message_options_for(org)
        assert options.footer == f"Maple Swim {country}: Reply STOP to opt out"
        assert ctia.footer_missing(org, header="", footer=options.footer) == []
    assert MessageOptions.objects.filter(organization=gym).count() == 1
    ctia.message_options_for(gym)
    assert MessageOptions.objects.filter(organization=gym).count() == 1


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("Class updates and closures. Msg frequency varies. Msg & data rates may apply. "
         "Call 555-201-0000. Reply STOP to opt out.", "the organization's name"),
        ("Sunrise Gym: Msg frequency varies. Msg & data rates may apply. Call 555-201-0000. "
         "Reply STOP to opt out.", "what the texts are for"),
        ("Sunrise Gym: class updates and closures. Msg & data rates may apply. "
         "Call 555-201-0000. Reply STOP to opt out.", "Msg frequency varies"),
        ("Sunrise Gym: class updates and closures. Msg frequency varies. Call 555-201-0000. "
         "Reply STOP to opt out.", "Msg & data rates may apply"),
        ("Sunrise Gym: class updates and closures. Msg frequency varies. Msg & data rates "
         "may apply. Reply STOP to opt out.", "a contact"),
        ("Sunrise Gym: class updates and closures. Msg frequency varies. Msg & data rates "
         "may apply. Call 555-201-0000.", "Reply STOP to opt out"),
    ],
)
def test_a_help_reply_without_a_part_names_it(gym, text, missing):
    found = ctia.help_reply_missing(text, gym, "class updates and closures")
    assert len(found) == 1 and missing in found[0]


def test_a_help_reply_with_every_part_in_other_words_passes(gym):
    text = ("SUNRISE GYM - class updates and closures. Message frequency varies. Message and "
            "data rates may apply. Help: info@sunrise.example or sunrisegym.com. Text STOP to "
            "opt out.")
    assert ctia.help_reply_missing(text, gym, "class updates and closures") == []


def test_a_stop_reply_needs_the_name_and_no_more_texts(gym):
    assert ctia.stop_reply_missing("Sunrise Gym: you will receive no further messages.", gym) == []
    assert ctia.stop_reply_missing("You are unsubscribed.", gym) == [
        "the organization's name",
        "that no more texts will be sent (e.g. “will get no more”)",
    ]


def test_canada_and_australia_footers(db):
    org = OrganizationFactory(name="Maple Swim", country="CA")
    assert ctia.footer_missing(org, header="Maple Swim", footer="Reply STOP to opt out") == []
    assert ctia.footer_missing(org, header="", footer="Reply STOP to opt out") == [
        "the business name (in the header or the footer)"
    ]
    assert ctia.footer_missing(org, header="", footer="Maple Swim") == [
        "the opt-out words (e.g. “Reply STOP to opt out”)"
    ]
    au = OrganizationFactory(name="Bondi Dance", country="AU")
    no_reply = ctia.footer_missing(
        au, header="", footer="Bondi Dance. Reply STOP to opt out", reply_path=False
    )
    assert len(no_reply) == 1 and "without replying" in no_reply[0]
    assert ctia.footer_missing(
        au, header="", footer="Bondi Dance: stop at bondidance.com.au/u", reply_path=False
    ) == []
    us = OrganizationFactory(name="Sunrise", country="US")
    assert ctia.footer_missing(us, header="", footer="") == []


def test_wrap_puts_header_and_footer_on_their_own_lines(gym):
    options = ctia.message_options_for(gym)
    options.header, options.footer = "Sunrise Gym", "Reply STOP to opt out"
    assert ctia.wrap("Closed today", options) == "Sunrise Gym\nClosed today\nReply STOP to opt out"
    assert ctia.wrap("Closed today", options, omit=True) == "Closed today"
    ca = OrganizationFactory(name="Maple Swim", country="CA")
    ca_options = ctia.message_options_for(ca)
    assert ctia.wrap("Closed", ca_options, omit=True) == "Closed\nMaple Swim: Reply STOP to opt out"


def test_a_long_name_is_cut_at_a_word_in_the_default_footer_and_still_identifies(db):
    org = OrganizationFactory(name="Northern Lights Aquatic and Gymnastics Academy", country="CA")
    footer = ctia.message_options_for(org).footer
    assert footer == "Northern Lights Aquatic: Reply STOP to opt out" and len(footer) <= 50
    assert ctia.footer_missing(org, header="", footer=footer) == []
