"""segments.Merging, which merges and counts one text for many recipients from their names
alone, against merging each text with ``merge`` and counting it whole with ``count_parts``."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcasts.sms.segments import GSM7_BASIC, GSM7_EXTENSION, Merging, count_parts, merge
from broadcasts.typed_text import refused_characters

FIELDS = ("first_name", "family_name", "student_first_name")
ORGANIZATION = "Springfield Gym {and} Swim"

# What real names and typed texts hold, and what makes counting hard: extension characters
# (two septets, never split), characters outside GSM-7 (UCS-2), emoji (two code units, never
# split), refused control characters, braces, and long runs that cross part boundaries.
LETTERS = st.sampled_from(sorted(GSM7_BASIC))
EXTENSION = st.sampled_from(sorted(GSM7_EXTENSION))
ODD = st.sampled_from(["ë", "ł", "ó", "ç", "’", "—", "中", "👋", "🎉", "\x1b", "\u202e", "\t"])
CHARACTER = st.one_of(LETTERS, LETTERS, LETTERS, EXTENSION, ODD)
NAME = st.one_of(st.just(""), st.text(CHARACTER, max_size=12), st.text(LETTERS, max_size=90))
TOKEN = st.one_of(
    st.text(CHARACTER, min_size=1, max_size=40),
    st.text(LETTERS, min_size=100, max_size=200),
    st.sampled_from(["{first_name}", "{family_name}", "{student_first_name}", "{organization}"]),
    st.sampled_from(["{unknown}", "{", "}", "{}", "{{first_name}}"]),
)
TEXT = st.lists(TOKEN, max_size=8).map("".join)


def _merged(text: str, names: tuple[str, str, str]) -> str:
    values = dict(zip(FIELDS, names, strict=True)) | {"organization": ORGANIZATION}
    return merge(text, values)


@settings(max_examples=600, deadline=None)
@given(TEXT, st.lists(st.tuples(NAME, NAME, NAME), min_size=1, max_size=6))
def test_each_recipient_is_merged_and_counted_as_its_whole_text_would_be(text, recipients):
    merging = Merging(text, FIELDS, {"organization": ORGANIZATION})
    for names in recipients:  # several: what one recipient's names leave measured is reused
        whole = _merged(text, names)
        counted = count_parts(whole)
        assert merging.text(names) == whole
        assert merging.count(names) == (
            counted.parts,
            counted.units,
            len(whole),
            bool(refused_characters(whole)),
        )


@pytest.mark.parametrize("offset", range(-4, 4))
@pytest.mark.parametrize(
    ("name", "filler", "per_part"), [("€", "a", 153), ("👋", "ë", 67), ("[x]", "b", 153)]
)
def test_a_two_unit_character_at_a_part_boundary_is_never_split(offset, name, filler, per_part):
    """ "€" (two septets) or "👋" (two code units) where it would straddle two parts starts the
    next one: the parts are those of the whole text, not the units divided by the part size."""
    before, total = per_part + offset, 2 * per_part
    text = filler * before + "{first_name}" + filler * (total - before - 2)
    merged = text.replace("{first_name}", name)
    assert Merging(text, FIELDS, {}).count((name, "", "")) == (
        count_parts(merged).parts,
        count_parts(merged).units,
        len(merged),
        False,
    )
    if offset == -1 and name in "€👋":
        assert count_parts(merged).parts == 3  # 152 | € + 151 | 1: not 306 / 153 = 2


def test_a_name_outside_gsm7_makes_only_that_recipients_text_ucs2():
    merging = Merging("Hi {first_name}, " + "x" * 60, FIELDS, {})
    assert merging.count(("Zoë", "", "")) == (1, 68, 68, False)  # UCS-2: 70 in one part
    assert merging.count(("Zoe", "", "")) == (1, 68, 68, False)  # GSM-7: the same length
    assert merging.count(("Zoë" * 2, "", "")) == (2, 71, 71, False)
    assert merging.count(("Zoe" * 2, "", "")) == (1, 71, 71, False)
    assert merging.count(("Zo\x1be", "", "")) == (1, 69, 69, True)  # ESC: UCS-2, refused
    assert merging.count(("👋", "", "")) == (1, 67, 66, False)  # two code units, one character
