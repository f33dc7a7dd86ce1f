"""The parent portal's pages, and the staff button that invites a guardian to it.

Thin: each view finds its rows through the guardian's own family (``portal.access``), reads a
form and calls one service. A refused form re-renders its page with the message in place and
status 400; nothing is changed.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_GET, require_POST

from families.models import Guardian, PhoneNumber
from families.phones import phone_display
from families.services import policy_current
from portal import selectors, services
from portal.access import client_ip, guardian_required
from portal.forms import PhoneForm, PortalLoginForm, PortalPasswordResetForm, TextsYesForm
from smsvoice.http import SafeNextMixin
from smsvoice.tenancy import staff_required

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _evidence(request: HttpRequest) -> dict[str, str | None]:
    """Where a consent answer came from, kept with it."""
    return {
        "ip_address": client_ip(request),
        "user_agent": request.META.get("HTTP_USER_AGENT", ""),
    }


def _home_url(anchor: str = "") -> str:
    return reverse("portal:home") + anchor


# --- The family page: numbers, guardians, students ---


@guardian_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return _home_page(request)


def _home_page(
    request: HttpRequest, *, bound: dict[int, Form] | None = None, status: int = 200
) -> HttpResponse:
    bound = bound or {}
    page = selectors.portal_family_page(guardian=request.guardian)
    for row in page.family.rows:
        view = row.number
        initial = {"text_capable": True}
        if view is not None:
            initial = {"number": view.display, "text_capable": view.number.text_capable}
            view.answered = selectors.number_answered(view)
        row.set_form = bound.get(row.field.pk) or PhoneForm(
            initial=initial, auto_id=f"id_f{row.field.pk}_%s"
        )
    for form in bound.values():
        form.fields["number"].widget.attrs["autofocus"] = True
    context = {"page": page, "family": request.family}
    return render(request, "portal/home.html", context, status=status)


@guardian_required
@require_POST
def phone_save(request: HttpRequest, field_pk: int) -> HttpResponse:
    field = selectors.portal_field(guardian=request.guardian, pk=field_pk)
    form = PhoneForm(request.POST, auto_id=f"id_f{field.pk}_%s")
    if form.is_valid():
        try:
            number = services.portal_phone_save(
                guardian=request.guardian,
                field=field,
                raw=form.cleaned_data["number"],
                text_capable=form.cleaned_data["text_capable"],
            )
        except ValidationError as exc:
            form.add_error("number", exc)
        else:
            messages.success(request, f"Saved {field.label}: {phone_display(number.e164)}.")
            return redirect(_home_url(f"#field-{field.pk}"))
    return _home_page(request, bound={field.pk: form}, status=400)


@guardian_required
@require_POST
def phone_remove(request: HttpRequest, field_pk: int) -> HttpResponse:
    field = selectors.portal_field(guardian=request.guardian, pk=field_pk)
    try:
        services.portal_phone_remove(guardian=request.guardian, field=field)
    except ValidationError as exc:
        current = PhoneNumber.objects.filter(family=request.family, field=field).first()
        initial = {"number": phone_display(current.e164) if current else ""}
        form = PhoneForm(initial, auto_id=f"id_f{field.pk}_%s")
        form.is_valid()
        form.add_error("number", exc)
        return _home_page(request, bound={field.pk: form}, status=400)
    messages.success(request, f"Removed the {field.label} number.")
    return redirect(_home_url(f"#field-{field.pk}"))


# --- Text messages: Yes (after reading the policy) / No ---


@guardian_required
def texts_yes(request: HttpRequest, pk: int) -> HttpResponse:
    number = selectors.portal_number(guardian=request.guardian, pk=pk)
    form = TextsYesForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.portal_texts_yes(
                guardian=request.guardian,
                phone_number=number,
                confirmed=form.cleaned_data["confirm"],
                policy_version=form.cleaned_data["policy_version"],
                **_evidence(request),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Texts are on for {phone_display(number.e164)}.")
            return redirect(_home_url(f"#number-{number.pk}"))
    context = {
        "number": number,
        "display": phone_display(number.e164),
        "form": form,
        "policy": policy_current(organization=request.organization),
        "unsubscribed": selectors.number_unsubscribed(number=number),
        "sending_number": selectors.sending_number_display(guardian=request.guardian),
    }
    return render(request, "portal/texts_yes.html", context, status=400 if form.errors else 200)


@guardian_required
@require_POST
def texts_no(request: HttpRequest, pk: int) -> HttpResponse:
    number = selectors.portal_number(guardian=request.guardian, pk=pk)
    services.portal_texts_no(guardian=request.guardian, phone_number=number, **_evidence(request))
    messages.success(request, f"Texts are off for {phone_display(number.e164)}.")
    return redirect(_home_url(f"#number-{number.pk}"))


@guardian_required
@require_GET
def policies(request: HttpRequest) -> HttpResponse:
    context = {"policy": policy_current(organization=request.organization)}
    return render(request, "portal/policies.html", context)


# --- Accounts: invitation, login, logout, password reset ---

INVITATION_SESSION_KEY = "_portal_invitation_token"
SET_PASSWORD = "set-password"


def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the invitation email. Like Django's password reset, the token moves from
    the URL to the session at once, so it does not leak through the Referer header or history.
    """
    if token != SET_PASSWORD:
        request.session[INVITATION_SESSION_KEY] = token
        return redirect("portal:invitation", token=SET_PASSWORD)
    token = request.session.get(INVITATION_SESSION_KEY, "")
    try:
        invitation = services.invitation_check(token=token)
    except ValidationError as exc:
        return render(request, "portal/invitation_invalid.html", {"error": exc}, status=400)
    user = invitation.guardian.user
    form = SetPasswordForm(user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(
                token=token, password=form.cleaned_data["new_password1"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            request.session.pop(INVITATION_SESSION_KEY, None)
            login(request, user, backend=MODEL_BACKEND)
            messages.success(request, "Your password is set. Welcome to the parent portal.")
            return redirect("portal:home")
    context = {"form": form, "invitation": invitation, "username": user.get_username()}
    return render(
        request, "portal/invitation_accept.html", context, status=400 if form.errors else 200
    )


class _LoginView(SafeNextMixin, auth_views.LoginView):
    pass


class _LogoutView(SafeNextMixin, auth_views.LogoutView):
    pass


login_view = _LoginView.as_view(
    template_name="portal/login.html",
    authentication_form=PortalLoginForm,
    next_page="portal:home",
)
logout_view = _LogoutView.as_view(next_page="portal:login")
password_reset = auth_views.PasswordResetView.as_view(
    template_name="portal/password_reset_form.html",
    form_class=PortalPasswordResetForm,
    email_template_name="portal/emails/password_reset_email.txt",
    subject_template_name="portal/emails/password_reset_subject.txt",
    success_url=reverse_lazy("portal:password_reset_done"),
)
password_reset_done = auth_views.PasswordResetDoneView.as_view(
    template_name="portal/password_reset_done.html"
)


class _PasswordResetConfirm(auth_views.PasswordResetConfirmView):
    template_name = "portal/password_reset_confirm.html"
    post_reset_login = True
    post_reset_login_backend = MODEL_BACKEND
    success_url = reverse_lazy("portal:home")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your new password is set.")
        return response


password_reset_confirm = _PasswordResetConfirm.as_view()


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """django-axes' lockout page (AXES_LOCKOUT_CALLABLE), for the staff and portal logins:
    it says why and for how long, and offers the password reset of the side in use."""
    portal = request.path.startswith(reverse("portal:home"))
    context = {
        "base_template": "portal/base.html" if portal else "base.html",
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
        "reset_url": reverse("portal:password_reset" if portal else "password_reset"),
    }
    return render(request, "portal/locked_out.html", context, status=429)


# --- Staff: invite a guardian (the button on the staff family page) ---


@staff_required
@require_POST
def guardian_invite(request: HttpRequest, guardian_pk: int) -> HttpResponse:
    guardian = get_object_or_404(Guardian.objects.for_org(request.organization), pk=guardian_pk)
    try:
        invitation = services.invitation_send(guardian=guardian, sent_by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            f"Sent {guardian.full_name} an invitation to the parent portal at {invitation.email}.",
        )
    return redirect(reverse("families:family_detail", args=[guardian.family_id]) + "#guardians")
