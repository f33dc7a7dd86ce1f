"""Text messages: Yes (after reading the policy, recorded as evidence) / No, numbers that replied
STOP, and what staff then see."""

import html
import re
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from broadcasts.sms.replies import keyword_opt_in, keyword_opt_out
from families.models import ConsentEvent
from families.services import consent_record, policy_publish
from portal import services
from tests.factories import FamilyPolicyFactory

pytestmark = pytest.mark.django_db
Source = ConsentEvent.Source
HOME = "/portal/"
PHONE_BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"


def text(response) -> str:
    return html.unescape(response.content.decode())


def yes_url(number) -> str:
    return reverse("portal:texts_yes", args=[number.pk])


def no_url(number) -> str:
    return reverse("portal:texts_no", args=[number.pk])


def say_yes(client, number, version=1, **extra):
    data = {"confirm": "on", "policy_version": version}
    return client.post(yes_url(number), data, HTTP_USER_AGENT=PHONE_BROWSER, **extra)


def test_an_unanswered_number_offers_yes_and_no(parent_client, mobile, policy):
    page = parent_client.get(HOME).content.decode()
    assert "Text messages:" in page
    assert yes_url(mobile) in page
    assert no_url(mobile) in page
    assert "Not answered yet: texts are off until you say Yes." in page


def test_yes_shows_the_current_policy_and_asks_for_confirmation(parent_client, org, mobile):
    FamilyPolicyFactory(organization=org, version=1, text="Old policy text.")
    FamilyPolicyFactory(organization=org, version=2, text="We text about closures only.")
    response = parent_client.get(yes_url(mobile))
    page = response.content.decode()
    assert response.status_code == 200
    assert "We text about closures only." in page
    assert "Old policy text." not in page
    assert "Version 2" in page
    assert 'name="policy_version" value="2"' in page
    assert "I have read the texting policy and I agree to receive text messages" in page


def test_yes_without_the_confirmation_is_refused_and_records_nothing(parent_client, mobile, policy):
    response = parent_client.post(yes_url(mobile), {"policy_version": 1})
    assert response.status_code == 400
    assert "Tick the box to confirm you have read the texting policy" in response.content.decode()
    mobile.refresh_from_db()
    assert mobile.sms_opt_in is False
    assert not ConsentEvent.objects.exists()


def test_yes_with_confirmation_records_the_evidence(parent_client, guardian, mobile, policy):
    response = say_yes(parent_client, mobile, REMOTE_ADDR="198.51.100.23")
    assert response.status_code == 302
    assert response["Location"] == f"{HOME}#number-{mobile.pk}"
    mobile.refresh_from_db()
    assert mobile.sms_opt_in is True
    event = ConsentEvent.objects.get()
    assert event.phone_number == mobile
    assert (event.e164, event.opted_in, event.source) == ("+12025550111", True, Source.PORTAL)
    assert (event.actor, event.actor_label) == (guardian.user, "Maria Rivera (guardian)")
    assert event.policy == policy
    assert event.ip_address == "198.51.100.23"
    assert event.user_agent == PHONE_BROWSER
    page = parent_client.get(HOME).content.decode()
    assert "Texts are on for (202) 555-0111." in page
    local = timezone.localtime(event.created_at, ZoneInfo("America/New_York"))
    assert f"Texts are on since {local:%-d %b %Y}." in page


def test_saying_yes_twice_records_one_event(parent_client, mobile, policy):
    say_yes(parent_client, mobile)
    say_yes(parent_client, mobile)
    assert ConsentEvent.objects.count() == 1


def test_a_policy_published_while_the_parent_read_needs_a_new_confirmation(
    parent_client, org, mobile, policy
):
    policy_publish(organization=org, text="A new policy: we also text about fees.", actor=None)
    response = say_yes(parent_client, mobile, version=1)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Demo Gym has just updated its texting policy" in page
    assert "A new policy: we also text about fees." in page
    assert 'name="policy_version" value="2"' in page
    assert not ConsentEvent.objects.exists()
    assert say_yes(parent_client, mobile, version=2).status_code == 302
    assert ConsentEvent.objects.get().policy.version == 2


def test_without_a_policy_yes_cannot_be_chosen(parent_client, mobile):
    message = "Texts can't be turned on until Demo Gym publishes its texting policy."
    page = text(parent_client.get(HOME))
    assert message in page
    assert yes_url(mobile) not in page
    assert message in text(parent_client.get(yes_url(mobile)))
    response = say_yes(parent_client, mobile)
    assert response.status_code == 400
    assert message in text(response)
    assert not ConsentEvent.objects.exists()


def test_no_records_an_opt_out_with_the_same_evidence(parent_client, guardian, mobile, policy):
    say_yes(parent_client, mobile)
    response = parent_client.post(
        no_url(mobile), HTTP_USER_AGENT=PHONE_BROWSER, REMOTE_ADDR="198.51.100.9"
    )
    assert response.status_code == 302
    mobile.refresh_from_db()
    assert mobile.sms_opt_in is False
    last = ConsentEvent.objects.order_by("-id").first()
    assert (last.opted_in, last.source, last.actor) == (False, Source.PORTAL, guardian.user)
    assert (last.ip_address, last.user_agent) == ("198.51.100.9", PHONE_BROWSER)
    page = parent_client.get(HOME).content.decode()
    assert "Texts are off." in page


def test_no_on_an_unanswered_number_is_recorded_once(parent_client, mobile, policy):
    parent_client.post(no_url(mobile))
    parent_client.post(no_url(mobile))
    [event] = ConsentEvent.objects.all()
    assert (event.opted_in, event.source) == (False, Source.PORTAL)


def test_no_is_a_post_only(parent_client, mobile):
    assert parent_client.get(no_url(mobile)).status_code == 405
    assert not ConsentEvent.objects.exists()


def test_a_number_that_cannot_text_offers_no_answer(parent_client, mobile, policy):
    mobile.text_capable = False
    mobile.save()
    page = parent_client.get(HOME).content.decode()
    assert "Text messages:" not in page
    assert say_yes(parent_client, mobile).status_code == 400
    assert not ConsentEvent.objects.exists()


# --- numbers that replied STOP ---


def test_a_number_that_replied_stop_shows_how_to_come_back_and_no_yes(
    parent_client, org, mobile, policy, sending_number
):
    say_yes(parent_client, mobile)
    keyword_opt_out(organization=org, e164=mobile.e164, word="STOP")
    page = parent_client.get(HOME).content.decode()
    words = re.sub(r"<[^>]+>", "", page)
    assert (
        "Unsubscribed by text reply — text START to (415) 555-0123 to receive texts again." in words
    )
    assert yes_url(mobile) not in page
    assert no_url(mobile) not in page

    response = say_yes(parent_client, mobile)
    assert response.status_code == 400
    assert "text START to (415) 555-0123" in response.content.decode()
    mobile.refresh_from_db()
    assert mobile.sms_opt_in is False


def test_the_service_refuses_to_opt_in_a_number_that_replied_stop(guardian, org, mobile, policy):
    keyword_opt_out(organization=org, e164=mobile.e164, word="STOP")
    with pytest.raises(ValidationError, match="replying START"):
        services.portal_texts_yes(
            guardian=guardian,
            phone_number=mobile,
            confirmed=True,
            policy_version=1,
            ip_address=None,
            user_agent="",
        )
    mobile.refresh_from_db()
    assert mobile.sms_opt_in is False


def test_a_start_reply_turns_texts_back_on_and_the_portal_shows_it(
    parent_client, org, mobile, policy, sending_number
):
    say_yes(parent_client, mobile)
    keyword_opt_out(organization=org, e164=mobile.e164, word="STOP")
    keyword_opt_in(organization=org, e164=mobile.e164, word="START")
    mobile.refresh_from_db()
    assert mobile.sms_opt_in is True
    page = parent_client.get(HOME).content.decode()
    assert "Unsubscribed by text reply" not in page
    assert "Texts are on since" in page
    assert no_url(mobile) in page


# --- where the answer came from ---


def test_behind_our_proxy_the_address_is_the_one_it_saw(parent_client, mobile, policy, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    say_yes(
        parent_client,
        mobile,
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.50",
    )
    assert ConsentEvent.objects.get().ip_address == "203.0.113.50"


def test_without_a_proxy_a_forwarded_header_is_ignored(parent_client, mobile, policy):
    say_yes(parent_client, mobile, REMOTE_ADDR="198.51.100.23", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert ConsentEvent.objects.get().ip_address == "198.51.100.23"


# --- staff see the result ---


def test_staff_see_the_number_opted_in_on_the_portal_with_its_history(
    parent_client, staff_client, family, mobile, policy
):
    say_yes(parent_client, mobile)
    page = staff_client.get(reverse("families:family_detail", args=[family.pk])).content.decode()
    assert "Texts: on — opted in on the parent portal" in page
    assert "Consent history (1)" in page
    assert "Parent portal" in page
    assert "Maria Rivera (guardian)" in page
    assert "Version 1" in page


# --- the policies page ---


def test_the_policies_page_shows_the_current_policy(parent_client, org, policy):
    policy_publish(organization=org, text="Version two of the policy.", actor=None)
    page = parent_client.get(reverse("portal:policies")).content.decode()
    assert "Version two of the policy." in page
    assert "Version 2, published" in page


def test_the_policies_page_says_when_there_is_none_yet(parent_client):
    page = parent_client.get(reverse("portal:policies")).content.decode()
    assert "Demo Gym has not published a texting policy yet." in page


def test_a_staff_opt_in_is_shown_on_the_portal_as_on(parent_client, staff_member, mobile):
    consent_record(
        phone_number=mobile,
        opted_in=True,
        source=Source.STAFF_WITH_CONSENT,
        actor=staff_member.user,
    )
    page = parent_client.get(HOME).content.decode()
    assert "Texts are on since" in page
    assert no_url(mobile) in page
