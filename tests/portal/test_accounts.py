"""Who gets into the parent portal: logging in and out, password reset, rate limiting,
session expiry, and staff and parents each kept on their own side."""

import re

import pytest
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import PASSWORD, GuardianFactory, UserFactory

pytestmark = pytest.mark.django_db

HOME = "/portal/"
LOGIN = "/portal/login/"


def log_in(client: Client, username: str, password: str = PASSWORD, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def test_an_anonymous_visitor_is_sent_to_the_portal_login():
    response = Client().get(HOME)
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=/portal/"


def test_a_guardian_logs_in_at_the_portal_and_lands_on_their_family(guardian):
    client = Client()
    response = log_in(client, guardian.user.username)
    assert response.status_code == 302
    assert response["Location"] == HOME
    page = client.get(HOME)
    assert page.status_code == 200
    assert "Rivera" in page.content.decode()


def test_a_wrong_password_is_refused_with_a_message(guardian):
    client = Client()
    response = log_in(client, guardian.user.username, "not-the-password")
    assert response.status_code == 200
    assert "That email and password don&#x27;t match" in response.content.decode()
    assert client.get(HOME).status_code == 302


def test_a_staff_login_is_refused_at_the_portal_login_and_pointed_to_the_staff_login(
    staff_member,
):
    client = Client()
    response = log_in(client, staff_member.user.username)
    assert response.status_code == 200
    assert "This login is for parents. Staff log in at /accounts/login/." in (
        response.content.decode()
    )
    assert "_auth_user_id" not in client.session


def test_a_logged_in_staff_member_gets_a_403_page_in_the_portal(staff_client):
    response = staff_client.get(HOME)
    assert response.status_code == 403
    assert "This portal is for parents" in response.content.decode()
    assert staff_client.get(reverse("portal:policies")).status_code == 403


def test_a_user_with_no_guardian_gets_a_403_page_in_the_portal():
    client = Client()
    client.force_login(UserFactory())
    response = client.get(HOME)
    assert response.status_code == 403
    assert "not linked to a family" in response.content.decode()


def test_a_guardian_is_refused_by_the_staff_side(parent_client, family):
    assert parent_client.get(reverse("families:family_list")).status_code == 403
    assert parent_client.get(reverse("families:family_detail", args=[family.pk])).status_code == (
        403
    )
    assert parent_client.get("/api/v1/families/").status_code == 403


def test_a_guardian_logging_in_on_the_staff_login_is_sent_on_to_the_portal(guardian):
    client = Client()
    client.post("/accounts/login/", {"username": guardian.user.username, "password": PASSWORD})
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == HOME


def test_logging_out_ends_the_session_and_goes_back_to_the_portal_login(parent_client):
    response = parent_client.post(reverse("portal:logout"))
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert parent_client.get(HOME).status_code == 302


def test_an_expired_session_needs_a_new_login(parent_client, settings):
    assert parent_client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    Session.objects.update(expire_date=timezone.now() - timezone.timedelta(seconds=1))
    response = parent_client.get(HOME)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


# --- rate limiting (django-axes) ---


def test_logins_lock_after_the_failure_limit_even_with_the_right_password(guardian, settings):
    client = Client()
    username = guardian.user.username
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, username, "wrong").status_code == 200
    locked = log_in(client, username, "wrong")
    assert locked.status_code == 429
    text = locked.content.decode()
    assert "Too many failed logins" in text
    assert "paused for 15 minutes" in text
    assert reverse("portal:password_reset") in text

    right = log_in(client, username)
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lockout_is_per_username_and_address(guardian, settings):
    username = guardian.user.username
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(Client(), username, "wrong", REMOTE_ADDR="203.0.113.7")
    assert AccessAttempt.objects.filter(username=username, ip_address="203.0.113.7").exists()

    elsewhere = log_in(Client(), username, REMOTE_ADDR="198.51.100.2")
    assert elsewhere.status_code == 302
    other = GuardianFactory(family=guardian.family, user=UserFactory(username="dad@example.test"))
    same_address = log_in(Client(), other.user.username, REMOTE_ADDR="203.0.113.7")
    assert same_address.status_code == 302


def test_a_successful_login_clears_earlier_failures(guardian, settings):
    client = Client()
    username = guardian.user.username
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, username, "wrong")
    assert log_in(client, username).status_code == 302
    client.post(reverse("portal:logout"))
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, username, "wrong")
    assert log_in(client, username).status_code == 302


def test_the_staff_login_is_rate_limited_too_with_the_staff_reset_link(staff_member, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(
            "/accounts/login/", {"username": staff_member.user.username, "password": "wrong"}
        )
    assert response.status_code == 429
    assert reverse("password_reset") in response.content.decode()
    assert reverse("portal:password_reset") not in response.content.decode()


# --- password reset ---


def test_a_guardian_resets_their_password_from_the_portal(guardian):
    client = Client()
    response = client.post(reverse("portal:password_reset"), {"email": "MARIA@example.test"})
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:password_reset_done")
    assert len(mail.outbox) == 1
    link = re.search(r"http://\S+/portal/password-reset/\S+/", mail.outbox[0].body).group(0)

    form = client.get(link, follow=True)
    assert form.status_code == 200
    assert "Choose a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "swim-lessons-on-tuesday", "new_password2": "swim-lessons-on-tuesday"},
    )
    assert done.status_code == 302
    assert done["Location"] == HOME
    assert client.get(HOME).status_code == 200
    guardian.user.refresh_from_db()
    assert guardian.user.check_password("swim-lessons-on-tuesday")

    again = Client().get(link, follow=True)
    assert "This link has expired or was already used" in again.content.decode()


def test_the_portal_reset_emails_nobody_for_a_staff_or_unknown_email(staff_member):
    client = Client()
    for email in (staff_member.user.email, "nobody@example.test"):
        response = client.post(reverse("portal:password_reset"), {"email": email})
        assert response.status_code == 302
    assert mail.outbox == []


@pytest.mark.parametrize(
    "url",
    ["/portal/", "/portal/policies/", "/portal/numbers/1/texts/yes/"],
)
def test_every_portal_page_asks_anonymous_visitors_to_log_in(url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_the_email_logs_in_whatever_its_case(guardian):
    client = Client()
    response = log_in(client, "  Maria@Example.TEST ")
    assert response.status_code == 302
    assert client.get(HOME).status_code == 200


def test_failures_under_case_variants_of_one_email_count_together(guardian, settings):
    client = Client()
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        variant = "maria@example.test" if attempt % 2 else "MARIA@example.test"
        response = log_in(client, variant, "wrong")
    assert response.status_code == 429
