"""The async gateway's request bodies (``twilio.form_encoded``) are the bytes urllib's
``urlencode(…, doseq=True)`` makes of the SDK's form fields, whatever the text holds."""

from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcasts.providers.twilio import form_encoded

# Every character but lone surrogates (no text from the SDK holds one): scripts far above
# U+0800 too, whose escapes are not kept.
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
VALUE = st.one_of(
    TEXT,
    st.lists(TEXT, max_size=3),  # MediaUrl and friends: repeated keys (none when empty)
    st.integers(),
    st.booleans(),
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(TEXT, VALUE, max_size=6))
def test_the_body_is_what_urlencode_makes_of_the_fields(fields):
    expected = urlencode(list(fields.items()), doseq=True, encoding="utf-8").encode()
    assert form_encoded(fields) == (expected if fields else None)


def test_a_broadcasts_fields_as_twilio_reads_them():
    body = form_encoded(
        {
            "To": "+12015550123",
            "From": "+12155550199",
            "Body": "Zoë's class ~ 50% off & free: see https://x.test/a?b=c 👋",
        }
    )
    assert body == (
        b"To=%2B12015550123&From=%2B12155550199&Body=Zo%C3%AB%27s+class+~+50%25+off+%26+free"
        b"%3A+see+https%3A%2F%2Fx.test%2Fa%3Fb%3Dc+%F0%9F%91%8B"
    )


def test_a_lone_surrogate_is_refused_as_urlencode_refuses_it():
    with pytest.raises(UnicodeEncodeError):
        urlencode([("Body", "\ud800")], encoding="utf-8")
    with pytest.raises(UnicodeEncodeError):
        form_encoded({"Body": "\ud800"})


def test_an_empty_list_between_fields_adds_nothing():
    fields = {"To": "+12015550123", "MediaUrl": [], "Body": "hi"}
    assert form_encoded(fields) == b"To=%2B12015550123&Body=hi"
    assert form_encoded(fields) == urlencode(list(fields.items()), doseq=True).encode()
