"""Settings > SMS & Voice > Message options: who may open it, what it saves, and the edits it
refuses (a CTIA part dropped, a CA/AU footer that does not identify the sender or say how to
opt out, Canada without a mailing address), changing nothing."""

import html

import pytest
from django.test import Client

from broadcasts.sms import ctia
from smsvoice.models import MessageOptions
from tests.factories import OrganizationFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db
URL = "/broadcasts/options/"


def page(response) -> str:
    return html.unescape(response.content.decode())


def form_data(org, **changes) -> dict:
    from broadcasts.sms.options import form_initial

    data = {k: v for k, v in form_initial(org).items()}
    data.update(changes)
    return data


def admin_of(org) -> Client:
    client = Client()
    client.force_login(StaffMemberFactory(organization=org, role="admin").user)
    return client


def stored(org) -> dict:
    options = MessageOptions.objects.get(organization=org)
    return {f: getattr(options, f) for f in ("header", "footer", "signup_message", "purpose",
                                             "help_reply", "stop_reply")}


def test_only_admins_open_it(org, staff_client, admin_client):
    assert staff_client.get(URL).status_code in (302, 403)
    response = admin_client.get(URL)
    assert response.status_code == 200
    text = page(response)
    assert "Message options" in text and ctia.signup_text(org) in text
    assert ctia.help_reply_text(org) in text


def test_the_sms_voice_settings_page_links_to_it(admin_client):
    assert URL in admin_client.get("/credits/settings/").content.decode()


def test_it_saves_header_footer_and_texts(org, admin_client):
    response = admin_client.post(URL, form_data(
        org,
        header="Demo Gym",
        footer="Reply STOP to opt out",
        signup_message="{organization}: you're in for texts. Msg frequency varies. Msg & data "
        "rates may apply. Reply HELP for help, STOP to opt out.",
    ))
    assert response.status_code == 302
    saved = stored(org)
    assert (saved["header"], saved["footer"]) == ("Demo Gym", "Reply STOP to opt out")
    assert saved["signup_message"].startswith("{organization}: you're in")
    fresh = type(org).objects.get(pk=org.pk)
    assert ctia.signup_text(fresh).startswith("Demo Gym: you're in")
    # the replies left as their defaults are stored blank, so they follow the name
    assert saved["help_reply"] == "" and saved["stop_reply"] == ""
    follow = admin_client.get(URL)
    assert "A sample text as phones get it (the header and footer add 31 characters)" in page(
        follow
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("help_reply", "Demo Gym: class updates and closures. Msg frequency varies. Contact "
         "office@gym.test. Reply STOP to opt out.", "“Msg & data rates may apply”"),
        ("help_reply", "Class updates and closures. Msg frequency varies. Msg & data rates may "
         "apply. Reply STOP to opt out.", "the organization's name"),
        ("stop_reply", "You are unsubscribed.", "that no more texts will be sent"),
        ("stop_reply", "You will get no more texts.", "the organization's name"),
        ("signup_message", "Welcome!", "“Msg frequency varies”"),
        ("signup_message", "{first_name}, Demo Gym texts: Msg frequency varies. Msg & data "
         "rates may apply. Reply HELP for help, STOP to opt out.", "{first_name} cannot be used"),
        ("header", "H" * 51, "at most 50 characters"),
        ("footer", "Reply {STOP}", "Unknown merge field {STOP}"),
        ("purpose", "", "Say what the texts are for"),
    ],
)
def test_a_refused_edit_says_why_and_changes_nothing(org, admin_client, field, value, message):
    ctia.message_options_for(org)
    before = stored(org)
    response = admin_client.post(URL, form_data(org, **{field: value}))
    assert response.status_code == 400
    assert message in page(response)
    assert stored(org) == before


def test_a_help_reply_must_name_the_purpose_being_saved(org, admin_client):
    response = admin_client.post(URL, form_data(org, purpose="swim meet results"))
    assert response.status_code == 400
    assert "what the texts are for (“swim meet results”)" in page(response)


def test_a_contact_saved_with_it_counts_for_the_help_reply(db):
    org = OrganizationFactory(name="Quiet Gym", contact_phone="", contact_email="")
    client = admin_of(org)
    text = ("Quiet Gym: class updates and closures. Msg frequency varies. Msg & data rates may "
            "apply. Call +1 202 555 0188. Reply STOP to opt out.")
    response = client.post(URL, form_data(org, help_reply=text, contact_phone="+12025550188"))
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.contact_phone == "+12025550188" and ctia.help_reply_text(org) == text


@pytest.mark.parametrize("country", ["CA", "AU"])
def test_canada_and_australia_refuse_a_footer_without_the_sender_or_opt_out(country):
    org = OrganizationFactory(name="Maple Swim", country=country, mailing_address="1 Main St")
    client = admin_of(org)
    assert "the footer must name your business" in page(client.get(URL)).lower()
    before = stored(org)
    for footer, missing in (
        ("Reply STOP to opt out", "the business name (in the header or the footer)"),
        ("Maple Swim", "the opt-out words"),
        ("", "the business name"),
    ):
        response = client.post(URL, form_data(org, header="", footer=footer))
        assert response.status_code == 400
        assert missing in page(response)
        assert stored(org) == before
    ok = client.post(URL, form_data(org, header="Maple Swim", footer="Reply STOP to opt out"))
    assert ok.status_code == 302
    assert stored(org)["footer"] == "Reply STOP to opt out"


def test_canada_needs_a_mailing_address(db):
    org = OrganizationFactory(name="Maple Swim", country="CA")
    client = admin_of(org)
    response = client.post(URL, form_data(org, mailing_address=""))
    assert response.status_code == 400
    assert "needs the business's mailing address" in page(response)
    ok = client.post(URL, form_data(org, mailing_address="12 River Rd, Vancouver BC V6B 1A1"))
    assert ok.status_code == 302
    org.refresh_from_db()
    assert org.mailing_address == "12 River Rd, Vancouver BC V6B 1A1"


def test_each_organization_edits_only_its_own(org, other_org, admin_client):
    theirs = ctia.message_options_for(other_org)
    theirs.header = "Other Gym"
    theirs.save()
    assert "Other Gym" not in page(admin_client.get(URL))
    admin_client.post(URL, form_data(org, header="Demo Gym"))
    theirs.refresh_from_db()
    assert theirs.header == "Other Gym"
    assert stored(org)["header"] == "Demo Gym"


def test_the_header_takes_only_the_organization_merge_field(org, admin_client):
    ctia.message_options_for(org)
    before = stored(org)
    response = admin_client.post(URL, form_data(org, header="Hi {first_name}"))
    assert response.status_code == 400
    assert "{first_name} cannot be used here" in page(response)
    assert stored(org) == before
    assert admin_client.post(URL, form_data(org, header="{organization}")).status_code == 302
    options = ctia.message_options_for(type(org).objects.get(pk=org.pk))
    assert ctia.wrap("See you at 5", options) == f"{org.name}\nSee you at 5"
