"""Texting registration end to end: the admin's form, the real twilio SDK against the local
stand-in (which keeps each registration's state and approves or fails it when told), the
refresh task, Twilio's Trust Hub callback, the fees in credits and the admins' emails."""

from __future__ import annotations

import time

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from twilio.request_validator import RequestValidator

from broadcasts.models import RegistrationStep, TextingRegistration
from broadcasts.registration import fees, services
from broadcasts.registration.readiness import registration_blocker
from credits.selectors import credits_balance
from smsvoice.locks import try_lock
from smsvoice.models import StaffMember
from tests.credits.factories import fund
from tests.factories import SendingNumberFactory, StaffMemberFactory
from tests.twilio_standin.registration import approve, fail

pytestmark = pytest.mark.django_db
Step = RegistrationStep
SERVICE = "MG" + "1" * 32
FEE_CREDITS = -(-(441 + 1500) // 3)  # low-volume brand + campaign vetting at 3 cents a credit


@pytest.fixture
def admin(org):
    return StaffMemberFactory(
        organization=org, role=StaffMember.Role.ADMIN, email="owner@gym.test", title="Owner"
    )


@pytest.fixture
def admin_web(admin) -> Client:
    client = Client()
    client.force_login(admin.user)
    return client


@pytest.fixture
def local_number(org):
    return SendingNumberFactory(
        organization=org, e164="+12025550142", messaging_service_sid=SERVICE
    )


@pytest.fixture
def standin(twilio_standin, settings):
    settings.SITE_URL = "https://smsvoice.example.com"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return twilio_standin


def business_form(**changes) -> dict:
    data = {
        "brand_kind": "low_volume",
        "legal_name": "Demo Gym LLC",
        "business_type": "Limited Liability Corporation",
        "ein": "12-3456789",
        "street": "1 Main Street",
        "city": "Springfield",
        "state": "il",
        "postal_code": "62701",
        "website": "https://demogym.example.com",
        "contact_first_name": "Pat",
        "contact_last_name": "Owner",
        "contact_title": "Owner",
        "contact_email": "owner@gym.test",
        "contact_phone": "(202) 555-0100",
        **changes,
    }
    return {f"business-{k}": v for k, v in data.items()}


def campaign_form(**changes) -> dict:
    data = {
        "use_case": "LOW_VOLUME",
        "description": "Demo Gym texts families about class schedule changes and closures.",
        "sample_1": "Demo Gym: closed today for snow. Reply STOP to opt out.",
        "sample_2": "Demo Gym: showcase Saturday 10am. Reply STOP to opt out.",
        "message_flow": "Parents opt in on the Demo Gym parent portal next to each number.",
        **changes,
    }
    return {f"campaign-{k}": v for k, v in data.items()}


def tollfree_form(**changes) -> dict:
    data = {
        "opt_in_type": "WEB_FORM",
        "opt_in_url": "https://smsvoice.example.com/broadcasts/registration/opt-in/x/",
        "message_volume": "1,000",
        "use_case_category": "ACCOUNT_NOTIFICATIONS",
        "use_case_summary": "Demo Gym texts families about schedule changes and closures.",
        "sample": "Demo Gym: closed today for snow. Reply STOP to opt out.",
        **changes,
    }
    return {f"tollfree-{k}": v for k, v in data.items()}


def submit(client, **extra):
    url = reverse("broadcasts:registration")
    return client.post(url, {**business_form(), **campaign_form(), "action": "submit", **extra})


def step(org, kind) -> RegistrationStep:
    return Step.objects.get(organization=org, kind=kind)


def refresh_until(org, kind, status, *, timeout=5.0) -> RegistrationStep:
    """Run the refresh (as beat would) until the step has ``status``."""
    deadline = time.monotonic() + timeout
    while True:
        services.registrations_refresh()
        found = Step.objects.filter(organization=org, kind=kind).first()
        if found is not None and found.status == status:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{kind} is {found and found.status}, not {status}")
        time.sleep(0.05)


def approve_trust_hub(standin, after=0.1):
    standin.registration.script("profile", approve(after=after))
    standin.registration.script("trust_product", approve(after=after))


def test_the_form_shows_our_defaults_the_fees_and_the_replies_before_submitting(
    admin_web, org, admin, local_number, standin
):
    fund(org, 1000)
    page = admin_web.get(reverse("broadcasts:registration"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="Demo Gym"' in html  # the legal name starts as the organization's name
    assert "Demo Gym: the gym is closed today" in html  # a good default sample
    assert "US$4.41" in html and "US$15.00" in html and "US$19.41" in html
    assert f"{FEE_CREDITS:,} credits" in html
    assert "Reply START to subscribe again" in html  # the app's real STOP reply
    assert reverse("broadcasts:registration_opt_in", args=["x"]).rsplit("x/", 1)[0] in html
    assert standin.requests == []  # reading the page asks Twilio nothing


def test_samples_come_from_the_organizations_own_recent_broadcasts(admin_web, org, admin, standin):
    from broadcasts.models import Broadcast

    Broadcast.objects.create(
        organization=org,
        text="Demo Gym: pool closed Friday, swim moved to Monday. Reply STOP",
        sender_label="x",
        selection_kind="all",
        from_e164="+12025550142",
    )
    html = admin_web.get(reverse("broadcasts:registration")).content.decode()
    assert "pool closed Friday, swim moved to Monday" in html


def test_a_10dlc_registration_goes_through_profile_brand_and_campaign_to_approved(
    admin_web, org, admin, local_number, standin
):
    fund(org, 1000)
    approve_trust_hub(standin)
    standin.registration.script("brand", approve(after=0.1))
    standin.registration.script("campaign", approve(after=0.1))
    assert "registered with US carriers" in registration_blocker(organization=org)

    response = submit(admin_web)

    assert response.status_code == 302
    profile = step(org, Step.Kind.PROFILE)
    assert profile.status == Step.Status.SUBMITTED
    assert credits_balance(organization=org) == 1000 - FEE_CREDITS
    assert "waiting for carrier approval" in registration_blocker(organization=org)
    sent = standin.registration.resources[profile.provider_sid]
    assert sent.fields["StatusCallback"].endswith(reverse("broadcasts:registration_callback"))
    users = list(standin.registration.end_users.values())
    business = next(u for u in users if u["Type"] == "customer_profile_business_information")
    assert business["Attributes"]["business_registration_number"] == "12-3456789"
    assert business["Attributes"]["business_industry"] == "EDUCATION"
    address = next(iter(standin.registration.addresses.values()))
    assert (address["Street"], address["Region"], address["PostalCode"]) == (
        "1 Main Street",
        "IL",
        "62701",
    )
    document = next(iter(standin.registration.documents.values()))
    assert document["Type"] == "customer_profile_address"
    assert document["Attributes"]["address_sids"] in standin.registration.addresses

    refresh_until(org, Step.Kind.PROFILE, Step.Status.APPROVED)
    refresh_until(org, Step.Kind.BRAND, Step.Status.APPROVED)
    campaign = refresh_until(org, Step.Kind.CAMPAIGN, Step.Status.APPROVED)

    brand = standin.registration.of_kind("brand")[0]
    assert brand.fields["BrandType"] == "STANDARD"
    assert brand.fields["SkipAutomaticSecVet"] == "true"
    sent = standin.registration.resources[campaign.provider_sid].fields
    assert sent["MessagingServiceSid"] == SERVICE
    assert sent["UsAppToPersonUsecase"] == "LOW_VOLUME"
    assert sent["HasEmbeddedLinks"] == "false" and sent["AgeGated"] == "false"
    assert "Reply START to subscribe again" in sent["OptOutMessage"]
    assert "STOP" in sent["OptOutKeywords"] and "HELP" in sent["HelpKeywords"]
    assert sent["MessageSamples"] == [
        campaign_form()["campaign-sample_1"],
        campaign_form()["campaign-sample_2"],
    ]
    assert registration_blocker(organization=org) is None


def test_a_failed_campaign_says_what_to_fix_and_is_approved_after_resubmitting(
    admin_web, org, admin, local_number, standin
):
    fund(org, 1000)
    approve_trust_hub(standin)
    standin.registration.script("brand", approve(after=0.05))
    standin.registration.script("campaign", fail(30544, after=0.1), approve(after=0.1))
    submit(admin_web)
    refresh_until(org, Step.Kind.BRAND, Step.Status.APPROVED)
    failed = refresh_until(org, Step.Kind.CAMPAIGN, Step.Status.FAILED)
    assert failed.error_code == 30544
    assert "turned down" in registration_blocker(organization=org)

    page = admin_web.get(reverse("broadcasts:registration")).content.decode()
    assert "Twilio error 30544" in page
    assert "say what families will get" in page  # what to change, in plain words
    assert 'data-testid="resubmit"' in page

    flow = "Parents opt in on the portal to get class updates, schedule changes and closures."
    url = reverse("broadcasts:registration_resubmit", args=[failed.pk])
    response = admin_web.post(url, {**business_form(), **campaign_form(message_flow=flow)})

    assert response.status_code == 302
    assert step(org, Step.Kind.CAMPAIGN).status == Step.Status.SUBMITTED
    campaign = refresh_until(org, Step.Kind.CAMPAIGN, Step.Status.APPROVED)
    assert standin.registration.resources[campaign.provider_sid].fields["MessageFlow"] == flow
    assert failed.provider_sid not in standin.registration.resources  # the failed one deleted
    assert registration_blocker(organization=org) is None
    # resubmitting is free; the approved campaign's first monthly fee (50 credits) is taken
    assert credits_balance(organization=org) == 1000 - FEE_CREDITS - 50


def test_the_admins_are_emailed_when_a_status_changes(
    admin_web, org, admin, local_number, standin, django_capture_on_commit_callbacks
):
    fund(org, 1000)
    standin.registration.script("profile", fail(30558, after=0.05))
    submit(admin_web)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        refresh_until(org, Step.Kind.PROFILE, Step.Status.FAILED)
    subjects = [m.subject for m in mail.outbox]
    assert any("failed" in s for s in subjects), subjects
    last = mail.outbox[-1]
    assert last.to == ["owner@gym.test"]
    assert "30558" in last.body and "Message frequency varies" in last.body
    services.registrations_refresh()  # nothing changed since: no new email
    assert mail.outbox[-1] is last


def test_a_toll_free_number_is_verified_failed_fixed_and_approved(admin_web, org, admin, standin):
    SendingNumberFactory(organization=org, e164="+18885550142", provider_sid="PN" + "8" * 32)
    standin.registration.script("tollfree", fail(30545, after=0.05), approve(after=0.05))
    page = admin_web.get(reverse("broadcasts:registration")).content.decode()
    assert "toll-free verification" in page and "Toll-free verification is free" in page
    assert "toll-free number verified" in registration_blocker(organization=org)

    data = {**business_form(), **tollfree_form(), "action": "submit"}
    assert admin_web.post(reverse("broadcasts:registration"), data).status_code == 302
    sent = standin.registration.of_kind("tollfree")[0].fields
    assert sent["TollfreePhoneNumberSid"] == "PN" + "8" * 32
    assert sent["OptInType"] == "WEB_FORM" and sent["MessageVolume"] == "1,000"
    failed = refresh_until(org, Step.Kind.TOLLFREE, Step.Status.FAILED)
    assert (
        "Twilio error 30545" in admin_web.get(reverse("broadcasts:registration")).content.decode()
    )

    url = reverse("broadcasts:registration_resubmit", args=[failed.pk])
    fixed = tollfree_form(use_case_summary="Class updates; message frequency varies; opted in.")
    assert admin_web.post(url, {**business_form(), **fixed}).status_code == 302
    refresh_until(org, Step.Kind.TOLLFREE, Step.Status.APPROVED)
    assert registration_blocker(organization=org) is None
    assert credits_balance(organization=org) == 0  # free, nothing debited


def test_bad_input_changes_nothing_and_says_what_is_wrong(
    admin_web, org, admin, local_number, standin
):
    fund(org, 1000)
    data = {**business_form(ein="123", state="Illinois"), **campaign_form(sample_1="short")}
    response = admin_web.post(reverse("broadcasts:registration"), {**data, "action": "submit"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nine digits" in html and "Two letters" in html and "at least 20" in html
    assert not TextingRegistration.objects.filter(organization=org).exists()
    assert not Step.objects.filter(organization=org).exists()
    assert credits_balance(organization=org) == 1000
    assert standin.requests == []


def test_too_few_credits_refuses_the_submission_with_nothing_sent(
    admin_web, org, admin, local_number, standin
):
    fund(org, 10)
    response = submit(admin_web)
    assert response.status_code == 400
    assert "buy credits first" in response.content.decode()
    assert not Step.objects.filter(organization=org).exclude(status=Step.Status.DRAFT).exists()
    assert credits_balance(organization=org) == 10
    assert standin.requests == []


def test_twilio_refusing_the_request_refunds_the_fees(admin_web, org, admin, local_number, standin):
    fund(org, 1000)
    standin.fail_next(status=503, count=1)
    response = submit(admin_web)
    assert response.status_code == 400
    assert "nothing was charged" in response.content.decode()
    assert credits_balance(organization=org) == 1000
    assert step(org, Step.Kind.PROFILE).status == Step.Status.DRAFT  # submit again later


def test_a_second_submit_is_refused(admin_web, org, admin, local_number, standin):
    fund(org, 5000)
    submit(admin_web)
    response = submit(admin_web)
    assert response.status_code == 400
    assert credits_balance(organization=org) == 5000 - FEE_CREDITS


def test_another_organizations_step_is_not_found(
    admin_web, org, admin, local_number, standin, other_org
):
    fund(org, 1000)
    standin.registration.script("profile", fail(30544, after=0.05))
    submit(admin_web)
    failed = refresh_until(org, Step.Kind.PROFILE, Step.Status.FAILED)
    stranger = StaffMemberFactory(organization=other_org, role=StaffMember.Role.ADMIN)
    client = Client()
    client.force_login(stranger.user)
    url = reverse("broadcasts:registration_resubmit", args=[failed.pk])
    assert client.post(url, {**business_form(), **campaign_form()}).status_code == 404
    page = client.get(reverse("broadcasts:registration")).content.decode()
    assert "Demo Gym LLC" not in page and "30544" not in page
    assert step(org, Step.Kind.PROFILE).status == Step.Status.FAILED


def test_staff_who_are_not_admins_cannot_open_it(staff_client):
    assert staff_client.get(reverse("broadcasts:registration")).status_code == 403


def test_the_refresh_does_nothing_while_another_run_holds_the_lock(org, standin):
    with try_lock(services.LOCK_NAME) as mine:
        assert mine
        assert services.registrations_refresh() == {"locked": 1}


def test_the_beat_task_runs_the_refresh(admin_web, org, admin, local_number, standin):
    from broadcasts.registration.tasks import registrations_refresh

    fund(org, 1000)
    standin.registration.script("profile", approve(after=0.0))
    standin.registration.script("trust_product", approve(after=0.0))
    submit(admin_web)
    time.sleep(0.1)
    counts = registrations_refresh.apply().get()
    assert counts["changed"] == 1 and counts["started"] == 1  # profile approved, brand sent
    assert step(org, Step.Kind.BRAND).status != Step.Status.DRAFT


# --- Twilio's status callback (Trust Hub bundles) -----------------------------------------


def post_signed(client, params, *, token):
    path = reverse("broadcasts:registration_callback")
    signature = RequestValidator(token).compute_signature(
        "https://smsvoice.example.com" + path, params
    )
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


def test_the_trust_hub_callback_is_signed_tolerant_and_idempotent(
    admin_web, org, admin, local_number, standin, settings, django_capture_on_commit_callbacks
):
    fund(org, 1000)
    approve_trust_hub(standin, after=0.0)
    submit(admin_web)
    profile = step(org, Step.Kind.PROFILE)
    params = {"BundleSid": profile.provider_sid, "Status": "twilio-approved"}
    client = Client()

    unsigned = client.post(reverse("broadcasts:registration_callback"), params)
    assert unsigned.status_code == 403
    forged = post_signed(client, params, token="not-the-token")
    assert forged.status_code == 403
    assert step(org, Step.Kind.PROFILE).status == Step.Status.SUBMITTED

    time.sleep(0.1)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert post_signed(client, params, token=settings.TWILIO_AUTH_TOKEN).status_code == 200
    assert step(org, Step.Kind.PROFILE).status == Step.Status.APPROVED
    assert step(org, Step.Kind.BRAND).status == Step.Status.SUBMITTED  # the next step started
    emails = len(mail.outbox)
    assert emails >= 1  # profile approved (and brand submitted): the admin is told
    with django_capture_on_commit_callbacks(execute=True):
        assert post_signed(client, params, token=settings.TWILIO_AUTH_TOKEN).status_code == 200
    assert len(mail.outbox) == emails  # the replay changed nothing
    assert len(standin.registration.of_kind("brand")) == 1

    unknown = {"BundleSid": "BU" + "0" * 32, "Status": "twilio-approved"}
    assert post_signed(client, unknown, token=settings.TWILIO_AUTH_TOKEN).status_code == 200
    junk = {"BundleSid": "<script>", "Status": "x"}
    assert post_signed(client, junk, token=settings.TWILIO_AUTH_TOKEN).status_code == 200


def test_the_stand_in_calls_back_signed_when_a_bundle_changes(
    admin_web, org, admin, local_number, standin, callback_sink, settings
):
    settings.SITE_URL = callback_sink.base_url
    fund(org, 1000)
    approve_trust_hub(standin, after=0.05)
    submit(admin_web)
    standin.wait_for_callbacks(timeout=5)
    statuses = [c.params["Status"] for c in standin.callbacks]
    assert "in-review" in statuses and "twilio-approved" in statuses
    assert all(c.signature for c in standin.callbacks)


def test_fees_are_what_the_form_shows():
    low = fees.tenlc_fees(brand_kind="low_volume", use_case="LOW_VOLUME")
    standard = fees.tenlc_fees(brand_kind="standard", use_case="LOW_VOLUME")
    assert sum(f.cents for f in low) == 1941
    assert sum(f.cents for f in standard) == 1941 + 4180


def test_a_request_twilio_refuses_outright_stays_a_draft_with_its_reason(
    admin_web, org, admin, local_number, standin
):
    fund(org, 1000)
    standin.fail_next(status=400, count=1)
    response = submit(admin_web)
    assert response.status_code == 400
    assert "Twilio refused it" in response.content.decode()
    assert step(org, Step.Kind.PROFILE).status == Step.Status.DRAFT
    assert credits_balance(organization=org) == 1000


def test_the_sms_and_voice_page_links_admins_to_the_registration(admin_web, staff_client):
    link = reverse("broadcasts:registration")
    assert link in admin_web.get(reverse("credits:sms_voice_settings")).content.decode()
    staff_page = staff_client.get(reverse("credits:sms_voice_settings"))
    assert staff_page.status_code != 200 or link not in staff_page.content.decode()


def test_a_refused_business_profile_is_corrected_in_place_and_resubmitted(
    admin_web, org, admin, local_number, standin
):
    fund(org, 1000)
    standin.registration.script(
        "profile", fail(22215, reason="Business name does not match the EIN"), approve(after=0.05)
    )
    standin.registration.script("trust_product", approve(after=0.05), approve(after=0.05))
    submit(admin_web)
    failed = refresh_until(org, Step.Kind.PROFILE, Step.Status.FAILED)
    page = admin_web.get(reverse("broadcasts:registration")).content.decode()
    assert "Business name does not match the EIN" in page  # Twilio's words for unknown codes
    users_before = set(standin.registration.end_users)
    profile = standin.registration.resources[failed.provider_sid]
    assignments_before = list(profile.assignments)

    url = reverse("broadcasts:registration_resubmit", args=[failed.pk])
    data = {**business_form(legal_name="Demo Gymnastics LLC"), **campaign_form()}
    assert admin_web.post(url, data).status_code == 302

    assert set(standin.registration.end_users) == users_before  # updated, not created again
    assert profile.assignments == assignments_before
    business = next(
        u
        for u in standin.registration.end_users.values()
        if u["Type"] == "customer_profile_business_information"
    )
    assert business["Attributes"]["business_name"] == "Demo Gymnastics LLC"
    refresh_until(org, Step.Kind.PROFILE, Step.Status.APPROVED)
    assert step(org, Step.Kind.BRAND).status != Step.Status.DRAFT
    assert credits_balance(organization=org) == 1000 - FEE_CREDITS


def test_an_approved_campaign_pays_its_monthly_fee_once_a_month_in_credits(
    admin_web, org, admin, local_number, standin
):
    from datetime import date

    from credits.models import LedgerEntry

    services.answers_save(
        organization=org, business={"brand_kind": "low_volume"}, campaign={"use_case": "LOW_VOLUME"}
    )
    Step.objects.create(organization=org, kind=Step.Kind.CAMPAIGN, status=Step.Status.APPROVED)
    fund(org, 40)  # the fee is 50 credits (US$1.50)
    assert services.campaign_fees_charge(today=date(2026, 12, 2)) == {"charged": 0, "unpaid": 1}
    assert (
        'data-testid="campaign-fee-unpaid"'
        in admin_web.get(reverse("broadcasts:registration")).content.decode()
    )

    fund(org, 100)
    assert services.campaign_fees_charge(today=date(2026, 12, 2)) == {"charged": 1, "unpaid": 0}
    assert services.campaign_fees_charge(today=date(2026, 12, 20)) == {"charged": 0, "unpaid": 0}
    assert credits_balance(organization=org) == 140 - 50
    assert services.campaign_fees_charge(today=date(2027, 1, 1))["charged"] == 1
    debits = LedgerEntry.objects.for_org(org).filter(reference__startswith="registration-campaign")
    assert sorted(e.reference.rsplit(":", 1)[1] for e in debits) == ["2026-12", "2027-01"]
    assert services.registrations_refresh()["charged"] == 0  # beat runs it too, once


def test_an_organization_without_an_approved_campaign_pays_no_monthly_fee(org, standin):
    fund(org, 100)
    Step.objects.create(organization=org, kind=Step.Kind.CAMPAIGN, status=Step.Status.IN_REVIEW)
    assert services.campaign_fees_charge() == {"charged": 0, "unpaid": 0}
    assert credits_balance(organization=org) == 100


def test_the_campaign_waits_while_the_messaging_service_is_being_set_up(
    admin_web, org, admin, standin
):
    number = SendingNumberFactory(organization=org, e164="+12025550143", messaging_service_sid="")
    fund(org, 1000)
    approve_trust_hub(standin, after=0.0)
    standin.registration.script("brand", approve(after=0.05))
    submit(admin_web)
    assert (
        'data-testid="service-pending"'
        in admin_web.get(reverse("broadcasts:registration")).content.decode()
    )
    refresh_until(org, Step.Kind.BRAND, Step.Status.APPROVED)
    services.registrations_refresh()
    campaign = step(org, Step.Kind.CAMPAIGN)
    assert campaign.status == Step.Status.DRAFT
    assert campaign.provider_status == "waiting for messaging service"
    assert standin.registration.of_kind("campaign") == []

    number.messaging_service_sid = SERVICE  # the Messaging Service is ready
    number.save()
    standin.registration.script("campaign", approve(after=0.05))
    refresh_until(org, Step.Kind.CAMPAIGN, Step.Status.APPROVED)
    assert standin.registration.of_kind("campaign")[0].fields["MessagingServiceSid"] == SERVICE


def test_a_sole_proprietor_registers_without_an_ein(admin_web, org, admin, local_number, standin):
    fund(org, 1000)
    approve_trust_hub(standin, after=0.0)
    standin.registration.script("brand", approve(after=0.05))
    standin.registration.script("campaign", approve(after=0.05))
    data = {**business_form(brand_kind="sole_proprietor", ein=""), **campaign_form()}
    assert (
        admin_web.post(reverse("broadcasts:registration"), {**data, "action": "submit"}).status_code
        == 302
    )
    refresh_until(org, Step.Kind.CAMPAIGN, Step.Status.APPROVED)
    assert standin.registration.of_kind("brand")[0].fields["BrandType"] == "SOLE_PROPRIETOR"
    campaign = standin.registration.of_kind("campaign")[0].fields
    assert campaign["UsAppToPersonUsecase"] == "SOLE_PROPRIETOR"
    business = next(
        u
        for u in standin.registration.end_users.values()
        if u["Type"] == "customer_profile_business_information"
    )
    assert "business_registration_number" not in business["Attributes"]


def test_a_sole_proprietor_can_have_the_confirmation_text_sent_again(
    admin_web, org, admin, local_number, standin
):
    fund(org, 1000)
    approve_trust_hub(standin, after=0.0)  # the brand then waits for the contact's YES
    data = {**business_form(brand_kind="sole_proprietor", ein=""), **campaign_form()}
    admin_web.post(reverse("broadcasts:registration"), {**data, "action": "submit"})
    refresh_until(org, Step.Kind.BRAND, Step.Status.IN_REVIEW)
    page = admin_web.get(reverse("broadcasts:registration")).content.decode()
    assert 'data-testid="otp"' in page and "reply <strong>YES</strong>" in page
    response = admin_web.post(reverse("broadcasts:registration_otp"), follow=True)
    assert "Sent again" in response.content.decode()
    assert standin.registration.of_kind("brand")[0].otps == 1


def test_the_confirmation_text_is_only_for_a_waiting_sole_proprietor(admin_web, org, admin):
    response = admin_web.post(reverse("broadcasts:registration_otp"), follow=True)
    assert "Only a sole proprietor" in response.content.decode()


def test_the_outbox_approves_everything_at_once(admin_web, org, admin, local_number, settings):
    settings.SMS_BACKEND = "outbox"
    fund(org, 1000)
    assert submit(admin_web).status_code == 302
    statuses = dict(Step.objects.filter(organization=org).values_list("kind", "status"))
    assert statuses == {"profile": "approved", "brand": "approved", "campaign": "approved"}
    assert registration_blocker(organization=org) is None


def test_the_public_opt_in_page_shows_the_policy_without_a_login(org, client):
    from broadcasts.registration.selectors import opt_in_page_url
    from tests.factories import FamilyPolicyFactory

    FamilyPolicyFactory(organization=org, text="We text about closures. Reply STOP to opt out.")
    url = opt_in_page_url(organization=org).split("://", 1)[1].split("/", 1)[1]
    page = client.get("/" + url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "We text about closures." in html and "Message frequency varies" in html
    forged = reverse("broadcasts:registration_opt_in", args=[f"{org.pk}:forged"])
    assert client.get(forged).status_code == 404


@pytest.mark.parametrize("kind", ["brand", "campaign"])
def test_a_create_whose_answer_was_lost_is_found_again_not_registered_twice(
    admin_web, org, admin, local_number, standin, kind
):
    fund(org, 1000)
    approve_trust_hub(standin, after=0.0)
    standin.registration.script("brand", approve(after=0.05))
    standin.registration.script("campaign", approve(after=0.05))
    standin.registration.lose_next_answer(kind)
    submit(admin_web)
    refresh_until(org, kind, Step.Status.APPROVED)
    refresh_until(org, Step.Kind.CAMPAIGN, Step.Status.APPROVED)
    assert len(standin.registration.of_kind(kind)) == 1
    assert step(org, kind).provider_sid == standin.registration.of_kind(kind)[0].sid


def test_a_toll_free_verification_whose_answer_was_lost_is_found_on_the_next_submit(
    admin_web, org, admin, standin
):
    SendingNumberFactory(organization=org, e164="+18885550142", provider_sid="PN" + "8" * 32)
    standin.registration.lose_next_answer("tollfree")
    data = {**business_form(), **tollfree_form(), "action": "submit"}
    assert admin_web.post(reverse("broadcasts:registration"), data).status_code == 400
    assert admin_web.post(reverse("broadcasts:registration"), data).status_code == 302
    assert len(standin.registration.of_kind("tollfree")) == 1
    assert step(org, Step.Kind.TOLLFREE).status in (Step.Status.SUBMITTED, Step.Status.IN_REVIEW)


def test_a_submission_under_way_refuses_a_second_one_until_its_claim_is_stale(
    admin_web, org, admin, local_number, standin
):
    from datetime import timedelta

    from django.utils import timezone

    fund(org, 1000)
    claim = {"provider_status": services.SENDING, "checked_at": timezone.now()}
    Step.objects.create(organization=org, kind=Step.Kind.PROFILE, **claim)
    assert submit(admin_web).status_code == 400
    assert credits_balance(organization=org) == 1000 and standin.requests == []
    stale = timezone.now() - services.CLAIM_STALE - timedelta(seconds=1)
    Step.objects.filter(organization=org).update(checked_at=stale)
    assert submit(admin_web).status_code == 302
    assert credits_balance(organization=org) == 1000 - FEE_CREDITS


def test_each_refused_attempt_is_refunded(admin_web, org, admin, local_number, standin):
    fund(org, 1000)
    standin.fail_next(status=503, count=1)
    assert submit(admin_web).status_code == 400
    standin.fail_next(status=503, count=1)
    assert submit(admin_web).status_code == 400
    assert credits_balance(organization=org) == 1000


@pytest.mark.parametrize("country", ["CA", "AU"])
def test_canada_and_australia_are_told_they_need_no_registration_and_pay_nothing(
    admin_web, org, admin, standin, country
):
    org.country = country
    org.save()
    fund(org, 1000)
    page = admin_web.get(reverse("broadcasts:registration")).content.decode()
    assert 'data-testid="no-registration-needed"' in page
    assert 'data-testid="submit"' not in page
    response = submit(admin_web)
    assert response.status_code == 400
    assert credits_balance(organization=org) == 1000 and standin.requests == []
