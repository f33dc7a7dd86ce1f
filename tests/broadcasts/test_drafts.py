"""Drafts: what is typed in the SMS window (or as a voice message's text) survives a refresh
and a closed dialog, per staff member, channel and selection, until sent or discarded."""

import pytest
from django.urls import reverse

from families.selection import selection_to_session
from tests.broadcasts.sms_helpers import families_selection, family_with_number, sender_ready

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
SMS = reverse("broadcasts:compose", args=["families"])
SMS_PREVIEW = reverse("broadcasts:compose_preview", args=["families"])


def select(client, *families):
    session = client.session
    selection_to_session(session, selection=families_selection(*families))
    session.save()


def textarea(html: str, name_id: str = "id_text") -> str:
    """What the page's message box holds."""
    start = html.index(f'id="{name_id}"')
    return html[html.index(">", start) + 1 : html.index("</textarea>", start)]


@pytest.fixture
def ready_org(org):
    sender_ready(org, credits=50)
    return org


def test_a_typed_text_message_comes_back_when_the_dialog_opens_again(staff_client, ready_org):
    select(staff_client, family_with_number(ready_org))
    staff_client.post(SMS_PREVIEW, {"text": "Snow day: no practice"}, **HTMX)
    html = staff_client.get(SMS, **HTMX).content.decode()
    assert textarea(html) == "Snow day: no practice"
    assert "Discard draft" in html
    assert "Snow day: no practice" in textarea(staff_client.get(SMS).content.decode())


def test_a_draft_belongs_to_its_selection(staff_client, ready_org):
    first, second = family_with_number(ready_org), family_with_number(ready_org)
    select(staff_client, first)
    staff_client.post(SMS_PREVIEW, {"text": "For the first family"}, **HTMX)
    select(staff_client, first, second)
    assert textarea(staff_client.get(SMS, **HTMX).content.decode()) == ""
    select(staff_client, first)
    assert textarea(staff_client.get(SMS, **HTMX).content.decode()) == "For the first family"


def test_a_draft_belongs_to_its_staff_member(staff_client, admin_client, ready_org):
    family = family_with_number(ready_org)
    select(staff_client, family)
    staff_client.post(SMS_PREVIEW, {"text": "Mine"}, **HTMX)
    select(admin_client, family)
    assert textarea(admin_client.get(SMS, **HTMX).content.decode()) == ""


def test_sending_clears_the_draft(staff_client, ready_org, django_capture_on_commit_callbacks):
    family = family_with_number(ready_org)
    select(staff_client, family)
    staff_client.post(SMS_PREVIEW, {"text": "Going out"}, **HTMX)
    with django_capture_on_commit_callbacks(execute=False):
        staff_client.post(SMS, {"text": "Going out", "action": "send"}, **HTMX)
    select(staff_client, family)
    assert textarea(staff_client.get(SMS, **HTMX).content.decode()) == ""


def test_discard_draft_empties_the_window_and_forgets_it(staff_client, ready_org):
    select(staff_client, family_with_number(ready_org))
    staff_client.post(SMS_PREVIEW, {"text": "Never mind"}, **HTMX)
    html = staff_client.post(SMS, {"text": "Never mind", "action": "discard"}, **HTMX)
    assert textarea(html.content.decode()) == ""
    assert textarea(staff_client.get(SMS, **HTMX).content.decode()) == ""
