import pytest
from hypothesis import given
from hypothesis import strategies as st

from broadcasts.sms.segments import (
    GSM7,
    GSM7_BASIC,
    GSM7_EXTENSION,
    UCS2,
    count_parts,
    describe,
    merge,
    merge_fields_unknown,
    plain_equivalents,
)


@pytest.mark.parametrize(
    ("length", "parts"), [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (1530, 10), (1531, 11)]
)
def test_gsm7_parts_follow_160_then_153(length, parts):
    assert count_parts("a" * length).parts == parts
    assert count_parts("a" * length).encoding == GSM7


@pytest.mark.parametrize(("length", "parts"), [(70, 1), (71, 2), (134, 2), (135, 3)])
def test_ucs2_parts_follow_70_then_67(length, parts):
    text = "é" * 0 + "ł" * length  # ł is outside GSM-7
    assert count_parts(text).parts == parts
    assert count_parts(text).encoding == UCS2


def test_extension_characters_count_double():
    assert count_parts("€" * 80).parts == 1
    assert count_parts("€" * 81).parts == 2
    assert count_parts("[" + "a" * 158).units == 160


def test_an_extension_character_is_not_split_across_parts():
    # 152 septets then a two-septet €: it cannot straddle, so it starts part two.
    text = "a" * 152 + "€" + "a" * 152
    assert count_parts(text).parts == 3
    assert count_parts("a" * 151 + "€" + "a" * 153).parts == 2


def test_an_emoji_is_two_units_and_forces_ucs2():
    parts = count_parts("See you there 👋")
    assert parts.encoding == UCS2
    assert parts.units == len("See you there ") + 2
    assert parts.ucs2_characters == ("👋",)


def test_a_surrogate_pair_is_not_split():
    assert count_parts("a" * 66 + "👋" + "a" * 67).parts == 3


def test_the_forcing_characters_are_named_once_each_in_order():
    assert count_parts("It’s “great” — it’s").ucs2_characters == ("’", "“", "”", "—")


def test_plain_equivalents_make_it_gsm7_again():
    fixed = plain_equivalents("It’s “great”\u00a0— see you…")
    assert fixed == 'It\'s "great" - see you...'
    assert count_parts(fixed).encoding == GSM7


def test_remaining_counts_down_to_the_next_part():
    assert count_parts("a" * 150).remaining == 10
    assert count_parts("a" * 170).remaining == 306 - 170


def test_describe_says_parts_and_credits():
    assert describe(count_parts("a" * 200)) == "2 parts, 2 credits per recipient"
    assert describe(count_parts("hi")) == "1 part, 1 credit per recipient"


def test_merge_fills_known_fields_and_flags_unknown_ones():
    values = {"first_name": "Ana", "organization": "Demo Gym"}
    assert merge("Hi {first_name} from {organization}", values) == "Hi Ana from Demo Gym"
    assert merge_fields_unknown("Hi {firstname} {first_name}") == ["firstname"]


GSM_TEXT = st.text(alphabet=sorted(GSM7_BASIC | GSM7_EXTENSION), max_size=1600)


@given(GSM_TEXT)
def test_gsm7_parts_hold_every_character_within_the_limit(text):
    parts = count_parts(text)
    assert parts.encoding == GSM7
    if parts.units <= 160:
        assert parts.parts == (1 if text else 0)
    else:
        assert parts.parts * 153 >= parts.units
        assert (parts.parts - 1) * 153 < parts.units + parts.parts  # at most 1 wasted per part


@given(st.text(max_size=800))
def test_any_text_gets_one_encoding_and_enough_parts(text):
    parts = count_parts(text)
    limit_single, limit_multi = (160, 153) if parts.encoding == GSM7 else (70, 67)
    assert parts.parts * max(limit_single if parts.parts == 1 else limit_multi, 1) >= parts.units
