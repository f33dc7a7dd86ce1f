"""The compose preview and create count each recipient's merged text from the names alone
(``compose._Merged``, ``segments.Merging``): the same parts, credits, costliest text, samples
and refused-name problem as merging every text with ``segments.merge`` and counting it whole
with ``count_parts``, the way they were first written, on generated directories whose names
bring extension characters, characters outside GSM-7, emoji and refused characters."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadcasts.sms import compose
from broadcasts.sms.segments import count_parts, merge, merge_fields_used
from broadcasts.typed_text import refused_characters, refused_characters_message
from tests.broadcasts.test_plan_fast_path import POOL, build
from tests.factories import SendingNumberFactory

pytestmark = pytest.mark.django_db

# Names as they come: GSM-7, an extension character, outside GSM-7, an emoji, an ESC pasted in.
NAMES = ["West", "Zoë", "Ø'Brien", "Mac[Rae]", "Lee 🎉", "Kai\x1b", "Ana-Maria", ""]
numbers = st.fixed_dictionaries(
    {
        "field": st.integers(0, 2),
        "e164": st.sampled_from(POOL),
        "capable": st.just(True),
        "opted": st.just(True),
        "guardian": st.none() | st.integers(0, 1),
    }
).map(lambda n: n | {"capable": True, "opted": True})
families = st.fixed_dictionaries(
    {
        "name": st.sampled_from(NAMES[:-1]),
        "guardians": st.lists(st.sampled_from(NAMES), max_size=2),
        "numbers": st.lists(numbers, max_size=2, unique_by=lambda n: n["field"]),
        "students": st.lists(st.tuples(st.sampled_from(NAMES), st.booleans()), max_size=3),
    }
)
directories = st.fixed_dictionaries(
    {
        "families": st.lists(families, min_size=1, max_size=7),
        "stopped": st.just(set()),
        "own": st.none(),
        "some": st.booleans(),
    }
)
TOKENS = st.sampled_from(
    [
        "Hi {first_name}, ",
        "{student_first_name}'s class ",
        "the {family_name} family ",
        "at {organization} ",
        "is cancelled. ",
        "€ ",
        "a" * 60,
        "b" * 130,
        "ë" * 40,
    ]
)
TEXTS = st.lists(TOKENS, min_size=1, max_size=6).map("".join)


def _reference(plan, text: str, organization) -> dict:
    """The preview's counts as first written: every text merged and counted whole."""
    used = merge_fields_used(text)
    if used:
        texts = []
        for planned in plan.recipients:
            first, family, students = planned.merge_names
            values = {
                "first_name": first,
                "family_name": family,
                "student_first_name": students,
                "organization": organization.name,
            }
            texts.append(merge(text, values))
    else:
        texts = [text] * len(plan.recipients)
    counted = {t: count_parts(t) for t in dict.fromkeys(texts)} or {text: count_parts(text)}
    parts = [counted[t].parts for t in texts]
    worst = max(counted.values(), key=lambda p: (p.parts, p.units))
    samples = []
    if texts:
        picks = [0]
        shared = next((i for i, r in enumerate(plan.recipients) if r.shared_by > 1), None)
        sizes = list(zip(parts, map(len, texts), strict=True))
        picks += [i for i in (shared, sizes.index(max(sizes))) if i is not None]
        seen = {texts[i] for i in picks}
        for i, merged in enumerate(texts):
            if len(dict.fromkeys(picks)) >= compose.SAMPLES or len(seen) == len(set(texts)):
                break
            if merged not in seen:
                seen.add(merged)
                picks.append(i)
        samples = [(i, texts[i], parts[i]) for i in list(dict.fromkeys(picks))[: compose.SAMPLES]]
    refused = ""
    if used:
        for merged in counted:
            if refused_characters(merged):
                who = plan.recipients[texts.index(merged)].owner_label
                refused = refused_characters_message(merged, what=f"The message to {who}")
                break
    return {"texts": texts, "parts": parts, "worst": worst, "samples": samples, "refused": refused}


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(directory=directories, text=TEXTS)
def test_the_preview_counts_what_merging_every_text_whole_counts(directory, text):
    with transaction.atomic():  # each example's directory is rolled back after it
        org, selection = build(directory)
        SendingNumberFactory(organization=org, status="active")
        draft = compose._draft(organization=org, selection=selection, text=text)
        transaction.set_rollback(True)
    expected = _reference(draft.plan, draft.text, org)
    preview = draft.preview
    assert draft.parts == expected["parts"]
    assert draft.merged.texts() == expected["texts"]
    assert preview.credits_needed == sum(expected["parts"])
    worst = expected["worst"]
    assert (preview.encoding, preview.parts, preview.per_part) == (
        worst.encoding,
        worst.parts,
        worst.per_part,
    )
    assert preview.characters_left == worst.remaining
    recipients = draft.plan.recipients
    assert [(s.e164, s.owner_label, s.text, s.parts, s.shared_by) for s in preview.samples] == [
        (recipients[i].e164, recipients[i].owner_label, t, p, recipients[i].shared_by)
        for i, t, p in expected["samples"]
    ]
    refused = [p for p in preview.problems if p.startswith("The message to ")]
    assert refused == ([expected["refused"]] if expected["refused"] else [])
