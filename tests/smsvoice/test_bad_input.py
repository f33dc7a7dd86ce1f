"""Bad input is a 400 with a reason and writes nothing, whichever API endpoint it reaches."""

import json

import pytest

from broadcasts.models import Broadcast, Recipient
from credits.models import LedgerEntry
from families.selection import SelectionError
from smsvoice.errors import BadInput
from tests.broadcasts.sms_helpers import family_with_number, sender_ready

pytestmark = pytest.mark.django_db

COUNT = "/api/v1/selections/count/"
WITH_SELECTION = ["/api/v1/broadcasts/preview/", "/api/v1/broadcasts/", "/api/v1/broadcasts/voice/"]

BAD_FILTERS = {
    "program not an id": {"program": "abc"},
    "program an object": {"program": {"id": 1}},
    "location of 20 digits": {"location": "12345678901234567890"},
    "location a huge number": {"location": 12345678901234567890},
    "level a list of lists": {"level": ["a", ["b"]]},
    "status not a choice": {"status": "sleeping"},
    "opted_in true": {"opted_in": True},
}


def _post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


@pytest.fixture
def ready(org):
    sender_ready(org, credits=100)
    family_with_number(org, name="Adams")


@pytest.mark.parametrize("url", [COUNT, *WITH_SELECTION])
@pytest.mark.parametrize("flt", BAD_FILTERS.values(), ids=BAD_FILTERS.keys())
def test_an_invalid_filter_is_a_400_with_a_reason_and_nothing_is_written(
    staff_client, org, ready, url, flt
):
    selection = {"kind": "families", "ids": [], "filter": flt}
    body = selection if url == COUNT else {"selection": selection, "text": "Hi", "mode": "tts"}
    ledger_before = LedgerEntry.objects.count()
    response = _post(staff_client, url, body)
    assert response.status_code == 400
    answer = response.json()
    reason = answer.get("detail") or answer["selection"][0]
    assert "filter" in reason
    assert Broadcast.objects.count() == 0 and Recipient.objects.count() == 0
    assert LedgerEntry.objects.count() == ledger_before


def test_a_selection_error_is_bad_input_which_every_api_view_answers_with_400():
    from rest_framework.views import APIView

    from smsvoice.errors import exception_handler

    assert issubclass(SelectionError, BadInput)
    response = exception_handler(SelectionError("The filter is wrong."), {"view": APIView()})
    assert (response.status_code, response.data) == (400, {"detail": "The filter is wrong."})
