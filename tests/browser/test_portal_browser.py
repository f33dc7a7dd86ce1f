"""The parent portal on a phone-sized screen: from the staff's invitation to a number opted in
that the staff family page then shows with the portal as its consent source.

Set PORTAL_SCREENSHOT=docs/portal-375.png to save the portal page at 375 px (README's picture).
"""

import os
import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from broadcasts.sms.replies import keyword_opt_out
from families.models import ConsentEvent, PhoneNumber
from tests.factories import (
    FamilyFactory,
    FamilyPolicyFactory,
    GuardianFactory,
    PhoneFieldFactory,
    PhoneNumberFactory,
    ProgramFactory,
    SendingNumberFactory,
    StudentFactory,
    UserFactory,
)

pytestmark = pytest.mark.browser
PASSWORD = "cartwheels-on-saturday"
POLICY = "Demo Gym texts you about closures, schedule changes and events. Reply STOP to stop."


@pytest.fixture
def rivera(org):
    """A family as the office keeps it: the template, a policy, a sending number, a guardian
    with an email but no login yet, and a second number that replied STOP."""
    mother = PhoneFieldFactory(organization=org, label="Mother cell", order=1, required=True)
    father = PhoneFieldFactory(organization=org, label="Father cell", order=2)
    PhoneFieldFactory(organization=org, label="Home phone", order=3)
    FamilyPolicyFactory(organization=org, version=1, text=POLICY)
    SendingNumberFactory(organization=org, e164="+14155550123")
    family = FamilyFactory(organization=org, name="Rivera")
    GuardianFactory(
        family=family, first_name="Maria", last_name="Rivera", email="maria@example.test"
    )
    StudentFactory(
        family=family,
        first_name="Sofia",
        last_name="Rivera",
        program=ProgramFactory(organization=org, name="Tumbling"),
        level="Level 2",
    )
    PhoneNumberFactory(family=family, field=father, e164="+12025550177")
    keyword_opt_out(organization=org, e164="+12025550177", word="STOP")
    return family, mother


def assert_fits_the_screen(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} scrolls sideways ({width} px)"


def test_a_guardian_accepts_the_invitation_and_opts_in_on_a_phone_and_staff_see_it(
    page, mobile_page, live_server, log_in, settings, staff_member, rivera
):
    family, mother = rivera
    settings.SITE_URL = live_server.url

    # The office invites Maria from the family page.
    log_in(staff_member.user, on=page)
    page.goto(f"{live_server.url}/families/{family.pk}/")
    page.get_by_role("button", name="Invite to portal").click()
    expect(page.get_by_text("Sent Maria Rivera an invitation to the parent portal")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Invited \d+ \w+"))).to_be_visible()

    # Maria opens the emailed link on her phone and chooses a password.
    [email] = mail.outbox
    link = re.search(r"http://\S+/portal/invitation/\S+/", email.body).group(0)
    phone = mobile_page
    phone.goto(link)
    expect(phone.get_by_role("heading", name="Welcome, Maria")).to_be_visible()
    assert_fits_the_screen(phone)
    phone.get_by_label("New password", exact=True).fill(PASSWORD)
    phone.get_by_label("New password again").fill(PASSWORD)
    phone.get_by_role("button", name="Set password and continue").click()

    expect(phone.get_by_role("heading", name="Rivera")).to_be_visible()
    expect(phone.get_by_text("Your password is set.")).to_be_visible()
    stop_notice = "Unsubscribed by text reply — text START to (415) 555-0123"
    expect(phone.get_by_text(stop_notice)).to_be_visible()

    # She adds her mobile number…
    field = phone.locator(f"#field-{mother.pk}")
    field.get_by_label("Mother cell number").fill("(202) 555-0134")
    expect(field.get_by_label("This number can receive text messages")).to_be_checked()
    field.get_by_role("button", name="Add number").click()
    expect(phone.get_by_text("Saved Mother cell: (202) 555-0134.")).to_be_visible()
    number = PhoneNumber.objects.get(family=family, field=mother)
    assert number.e164 == "+12025550134"

    # …and says Yes to texts after reading the policy.
    answer = phone.locator(f"#number-{number.pk}")
    expect(answer.get_by_text("Not answered yet")).to_be_visible()
    answer.get_by_role("link", name="Yes").click()
    expect(phone.get_by_text(POLICY)).to_be_visible()
    assert_fits_the_screen(phone)
    phone.get_by_label("I have read the texting policy").check()
    phone.get_by_role("button", name="Yes, send texts to this number").click()
    expect(phone.get_by_text("Texts are on for (202) 555-0134.")).to_be_visible()
    expect(answer.get_by_text(re.compile(r"Texts are on since"))).to_be_visible()
    assert_fits_the_screen(phone)
    if os.environ.get("PORTAL_SCREENSHOT"):
        phone.evaluate("window.scrollTo(0, 0)")
        phone.screenshot(path=os.environ["PORTAL_SCREENSHOT"], full_page=True)

    event = ConsentEvent.objects.get(phone_number=number)
    assert (event.opted_in, event.source, event.policy.version) == (True, "portal", 1)
    assert event.user_agent and event.ip_address == "127.0.0.1"

    # The office sees the number opted in, with the portal as its consent source.
    page.goto(f"{live_server.url}/families/{family.pk}/")
    row = page.locator(f"#number-{number.pk}")
    expect(row.get_by_text("Texts: on — opted in on the parent portal")).to_be_visible()
    row.get_by_text("Consent history (1)").click()
    expect(row.get_by_role("cell", name="Parent portal")).to_be_visible()
    expect(row.get_by_role("cell", name="Maria Rivera (guardian)")).to_be_visible()
    expect(page.get_by_text("Has portal access")).to_be_visible()


def test_every_portal_page_fits_a_phone(mobile_page, live_server, org, rivera, settings):
    family, mother = rivera
    guardian = family.guardians.get()
    guardian.user = UserFactory(username="maria@example.test")
    guardian.save(update_fields=["user"])
    phone = mobile_page
    phone.goto(f"{live_server.url}/portal/")
    expect(phone.get_by_role("heading", name="Parent portal")).to_be_visible()
    assert_fits_the_screen(phone)
    phone.get_by_label("Email").fill("maria@example.test")
    phone.get_by_label("Password").fill("correct-horse-battery-staple")
    phone.get_by_role("button", name="Log in").click()
    expect(phone.get_by_role("heading", name="Rivera")).to_be_visible()
    for path in ("/portal/", "/portal/policies/", "/portal/password-reset/"):
        phone.goto(live_server.url + path)
        assert_fits_the_screen(phone)
    phone.goto(f"{live_server.url}/portal/")
    field = phone.locator(f"#field-{mother.pk}")
    field.get_by_label("Mother cell number").fill("12")
    field.get_by_role("button", name="Add number").click()
    expect(phone.get_by_text("12 is not a valid US number.")).to_be_visible()
    assert_fits_the_screen(phone)
    phone.get_by_role("button", name="Log out").click()
    expect(phone.get_by_role("heading", name="Parent portal")).to_be_visible()
