"""Staff invite a guardian from the family page; the emailed link sets a password once."""

import re
import time
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal import services
from portal.models import Invitation
from tests.factories import GuardianFactory, StaffMemberFactory, UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()
NEW_PASSWORD = "cartwheels-on-saturday"


@pytest.fixture
def invitee(family):
    return GuardianFactory(family=family, first_name="Ana", email="Ana.Rivera@Example.test")


def invite_url(guardian) -> str:
    return reverse("portal:guardian_invite", args=[guardian.pk])


def family_url(family) -> str:
    return reverse("families:family_detail", args=[family.pk])


def invite(staff_client, guardian, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return staff_client.post(invite_url(guardian))


def link_in(message) -> str:
    return re.search(r"http://\S+/portal/invitation/\S+/", message.body).group(0)


def path_of(link: str) -> str:
    return re.sub(r"^http://[^/]+", "", link)


def accept(client: Client, link: str, password: str = NEW_PASSWORD):
    landing = client.get(path_of(link))
    assert landing.status_code == 302
    return client.post(landing["Location"], {"new_password1": password, "new_password2": password})


def test_staff_invite_a_guardian_who_gets_a_login_and_an_email(
    staff_client, staff_member, invitee, family, django_capture_on_commit_callbacks
):
    response = invite(staff_client, invitee, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert response["Location"] == family_url(family) + "#guardians"

    invitee.refresh_from_db()
    user = invitee.user
    assert user.username == user.email == "ana.rivera@example.test"
    assert not user.has_usable_password()
    invitation = Invitation.objects.get()
    assert (invitation.guardian, invitation.organization) == (invitee, family.organization)
    assert (invitation.email, invitation.sent_by) == ("ana.rivera@example.test", staff_member.user)
    assert invitation.accepted_at is None

    [message] = mail.outbox
    assert message.to == ["ana.rivera@example.test"]
    assert message.subject == "Demo Gym invites you to its parent portal"
    assert "Hello Ana," in message.body
    assert "works once, for 7 days" in message.body
    assert link_in(message)


def test_the_family_page_shows_the_invite_button_then_invited_then_portal_access(
    staff_client, invitee, family, django_capture_on_commit_callbacks
):
    page = staff_client.get(family_url(family)).content.decode()
    assert "Invite to portal" in page
    assert invite_url(invitee) in page

    invite(staff_client, invitee, django_capture_on_commit_callbacks)
    sent = timezone.localtime(Invitation.objects.get().sent_at, ZoneInfo("America/New_York"))
    page = staff_client.get(family_url(family)).content.decode()
    assert f"Invited {sent:%-d %b}" in page
    assert "Invite again" in page

    accept(Client(), link_in(mail.outbox[0]))
    page = staff_client.get(family_url(family)).content.decode()
    assert "Has portal access" in page
    assert invite_url(invitee) not in page


def test_a_guardian_without_email_shows_no_button_and_cannot_be_invited(
    staff_client, family, django_capture_on_commit_callbacks
):
    no_email = GuardianFactory(family=family, email="")
    page = staff_client.get(family_url(family)).content.decode()
    assert "Add an email to invite to the portal" in page

    response = invite(staff_client, no_email, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    follow = staff_client.get(response["Location"]).content.decode()
    assert "Add an email address for" in follow
    no_email.refresh_from_db()
    assert no_email.user is None
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_an_email_that_is_already_someone_elses_login_is_refused(
    staff_client, org, family, django_capture_on_commit_callbacks
):
    StaffMemberFactory(organization=org, user=UserFactory(username="coach@example.test"))
    parent = GuardianFactory(family=family, email="Coach@example.test")
    response = invite(staff_client, parent, django_capture_on_commit_callbacks)
    follow = staff_client.get(response["Location"]).content.decode()
    assert "coach@example.test is already the login of someone else" in follow
    parent.refresh_from_db()
    assert parent.user is None
    assert User.objects.filter(username__iexact="coach@example.test").count() == 1
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_a_guardian_who_already_has_access_is_not_invited_again(guardian):
    with pytest.raises(ValidationError, match="already has portal access"):
        services.invitation_send(guardian=guardian, sent_by=None)
    assert not Invitation.objects.exists()


def test_accepting_sets_the_password_logs_in_and_lands_in_the_portal(
    staff_client, invitee, django_capture_on_commit_callbacks
):
    invite(staff_client, invitee, django_capture_on_commit_callbacks)
    link = link_in(mail.outbox[0])
    client = Client()
    landing = client.get(path_of(link))
    # The token leaves the address bar at once (it would leak through Referer and history).
    assert landing["Location"] == reverse("portal:invitation", args=["set-password"])
    form = client.get(landing["Location"])
    assert form.status_code == 200
    assert "Welcome, Ana" in form.content.decode()
    assert "ana.rivera@example.test" in form.content.decode()

    done = client.post(
        landing["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done.status_code == 302
    assert done["Location"] == reverse("portal:home")
    assert client.get(reverse("portal:home")).status_code == 200
    invitee.refresh_from_db()
    assert invitee.user.check_password(NEW_PASSWORD)
    assert Invitation.objects.get().accepted_at is not None

    fresh = Client()
    assert fresh.post(
        reverse("portal:login"), {"username": invitee.email, "password": NEW_PASSWORD}
    ).status_code == (302)


def test_the_link_works_only_once(staff_client, invitee, django_capture_on_commit_callbacks):
    invite(staff_client, invitee, django_capture_on_commit_callbacks)
    link = link_in(mail.outbox[0])
    accept(Client(), link)

    again = Client()
    response = again.get(path_of(link), follow=True)
    assert response.status_code == 400
    assert "This invitation has already been used" in response.content.decode()
    refused = accept(again, link, "another-password-entirely")
    assert refused.status_code == 400
    invitee.refresh_from_db()
    assert invitee.user.check_password(NEW_PASSWORD)


def test_a_weak_password_is_refused_and_the_link_still_works(
    staff_client, invitee, django_capture_on_commit_callbacks
):
    invite(staff_client, invitee, django_capture_on_commit_callbacks)
    link = link_in(mail.outbox[0])
    client = Client()
    response = accept(client, link, "12345678")
    assert response.status_code == 400
    assert "This password is entirely numeric." in response.content.decode()
    invitee.refresh_from_db()
    assert not invitee.user.has_usable_password()
    assert accept(client, link).status_code == 302


def test_an_expired_link_is_refused(
    staff_client, invitee, monkeypatch, django_capture_on_commit_callbacks
):
    eight_days_ago = time.time() - 8 * 24 * 3600
    monkeypatch.setattr("django.core.signing.time.time", lambda: eight_days_ago)
    invite(staff_client, invitee, django_capture_on_commit_callbacks)
    monkeypatch.undo()
    client = Client()
    response = client.get(path_of(link_in(mail.outbox[0])), follow=True)
    assert response.status_code == 400
    assert "This invitation has expired" in response.content.decode()
    assert accept(client, link_in(mail.outbox[0])).status_code == 400
    invitee.refresh_from_db()
    assert not invitee.user.has_usable_password()


def test_a_new_invitation_replaces_the_links_sent_before(
    staff_client, invitee, django_capture_on_commit_callbacks
):
    invite(staff_client, invitee, django_capture_on_commit_callbacks)
    invite(staff_client, invitee, django_capture_on_commit_callbacks)
    first, second = (link_in(m) for m in mail.outbox)
    response = Client().get(path_of(first), follow=True)
    assert "A newer invitation was sent to you" in response.content.decode()
    assert accept(Client(), second).status_code == 302


def test_a_tampered_link_is_refused():
    response = Client().get("/portal/invitation/not-a-real-token/", follow=True)
    assert response.status_code == 400
    assert "This invitation link is not valid." in response.content.decode()


def test_a_corrected_email_becomes_the_login_at_the_next_invitation(
    staff_client, invitee, django_capture_on_commit_callbacks
):
    invite(staff_client, invitee, django_capture_on_commit_callbacks)
    invitee.refresh_from_db()
    invitee.email = "ana@newmail.test"
    invitee.save(update_fields=["email"])
    invite(staff_client, invitee, django_capture_on_commit_callbacks)
    invitee.refresh_from_db()
    assert invitee.user.username == invitee.user.email == "ana@newmail.test"
    assert mail.outbox[-1].to == ["ana@newmail.test"]


def test_staff_cannot_invite_a_guardian_of_another_organization(
    staff_client, other_guardian, django_capture_on_commit_callbacks
):
    other_guardian.user = None
    other_guardian.save()
    response = invite(staff_client, other_guardian, django_capture_on_commit_callbacks)
    assert response.status_code == 404
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_only_staff_can_invite_and_only_by_post(parent_client, staff_client, invitee):
    assert parent_client.post(invite_url(invitee)).status_code == 403
    assert Client().post(invite_url(invitee)).status_code == 302
    assert staff_client.get(invite_url(invitee)).status_code == 405
    assert not Invitation.objects.exists()


def test_the_invite_button_needs_a_csrf_token(staff_member, invitee):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_member.user)
    assert client.post(invite_url(invitee)).status_code == 403
    assert not Invitation.objects.exists()


def test_choosing_the_password_needs_a_csrf_token(
    staff_client, invitee, django_capture_on_commit_callbacks
):
    invite(staff_client, invitee, django_capture_on_commit_callbacks)
    client = Client(enforce_csrf_checks=True)
    assert accept(client, link_in(mail.outbox[0])).status_code == 403
    invitee.refresh_from_db()
    assert not invitee.user.has_usable_password()
    assert Invitation.objects.get().accepted_at is None
