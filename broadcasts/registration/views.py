"""Settings > SMS & Voice > Texting registration (admins), Twilio's Trust Hub status callback,
and the public page that shows carriers' reviewers how families opt in.

The page holds the guided forms (business; campaign or toll-free details) with our defaults,
each step's status and, for a failed step, what to change. Buttons: save the draft, submit
(fees shown next to it), or save and resubmit a failed step. Nothing is changed by input that
does not validate; every step is found through the request's organization (another's: 404).
"""

from __future__ import annotations

import logging
import re

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from broadcasts.registration import fees, selectors, services
from broadcasts.registration.errors import fix_for
from broadcasts.registration.forms import BusinessForm, CampaignForm, TollfreeForm
from broadcasts.registration.models import RegistrationStep, TextingRegistration
from broadcasts.registration.readiness import needs_registration, registration_blocker
from credits.selectors import credits_balance
from smsvoice.tenancy import admin_required

logger = logging.getLogger(__name__)
Step = RegistrationStep
SID = re.compile(r"[A-Za-z0-9]{2,64}")


def _forms(request: HttpRequest, registration: TextingRegistration, data=None) -> dict:
    defaults = selectors.defaults_for(organization=request.organization, admin=request.staff_member)
    forms = {"business": BusinessForm, "campaign": CampaignForm, "tollfree": TollfreeForm}
    return {
        name: form(
            data,
            prefix=name,
            initial={**defaults[name], **getattr(registration, name)},
        )
        for name, form in forms.items()
    }


def _needed(path: str) -> tuple[str, ...]:
    return (
        ("business", "tollfree")
        if path == TextingRegistration.Path.TOLLFREE
        else ("business", "campaign")
    )


def _context(request: HttpRequest, forms: dict) -> dict:
    organization = request.organization
    path = selectors.path_of(organization=organization)
    steps = selectors.steps_of(organization=organization)
    kinds = (
        (Step.Kind.TOLLFREE,)
        if path == TextingRegistration.Path.TOLLFREE
        else selectors.TENLC_KINDS
    )
    shown = [steps.get(k) or Step(organization=organization, kind=k) for k in kinds]
    business = forms["business"]
    brand_kind = business["brand_kind"].value() or "low_volume"
    use_case = forms["campaign"]["use_case"].value() or "LOW_VOLUME"
    one_time = (
        []
        if path == TextingRegistration.Path.TOLLFREE
        else fees.tenlc_fees(brand_kind=brand_kind, use_case=use_case)
    )
    total = sum(f.cents for f in one_time)
    failed = next((s for s in shown if s.status == Step.Status.FAILED), None)
    editable = failed is not None or all(s.status == Step.Status.DRAFT for s in shown)
    if not editable:
        for form in forms.values():
            for field in form.fields.values():
                field.disabled = True
    return {
        "path": path,
        "tollfree": path == TextingRegistration.Path.TOLLFREE,
        "steps": [(s, fix_for(s)) for s in shown],
        "forms": forms,
        "needed": _needed(path),
        "editable": editable,
        "submitted": any(s.pk and s.status != Step.Status.DRAFT for s in shown),
        "failed": failed,
        "fees": one_time,
        "fee_total": fees.Fee("Total, once", total),
        "fee_credits": fees.credits_for(organization=organization, cents=total) if total else 0,
        "monthly": None
        if path == TextingRegistration.Path.TOLLFREE
        else fees.monthly_fee(use_case=use_case),
        "balance": credits_balance(organization=organization),
        "monthly_credits": fees.credits_for(
            organization=organization, cents=fees.monthly_fee(use_case=use_case).cents
        ),
        "campaign_fee_unpaid": selectors.campaign_fee_unpaid(organization=organization),
        "blocker": registration_blocker(organization=organization),
        "needs_registration": needs_registration(organization),
        "service_sid": selectors.messaging_service_sid(organization=organization),
        "replies": selectors.app_replies(organization=organization),
        "opt_in_url": selectors.opt_in_page_url(organization=organization),
        "sole_proprietor": brand_kind == "sole_proprietor",
    }


def _valid(forms: dict, names: tuple[str, ...]) -> bool:
    return all([forms[name].is_valid() for name in names])


@admin_required
@require_http_methods(["GET", "POST"])
def registration(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    record = selectors.registration_of(organization=organization) or TextingRegistration(
        organization=organization
    )
    if request.method == "GET":
        return render(
            request, "broadcasts/registration.html", _context(request, _forms(request, record))
        )
    forms = _forms(request, record, request.POST)
    names = _needed(selectors.path_of(organization=organization))
    if not _valid(forms, names):
        context = _context(request, forms)
        return render(request, "broadcasts/registration.html", context, status=400)
    services.answers_save(organization=organization, **{n: forms[n].cleaned_data for n in names})
    if request.POST.get("action") != "submit":
        messages.success(request, "Saved as a draft. Nothing is sent to carriers until you submit.")
        return redirect("broadcasts:registration")
    return _submit(request, forms, names)


def _submit(request: HttpRequest, forms: dict, names: tuple[str, ...]) -> HttpResponse:
    organization = request.organization
    try:
        if "tollfree" in names:
            services.tollfree_submit(organization=organization, actor=request.staff_member)
        else:
            services.tenlc_submit(organization=organization, actor=request.staff_member)
    except services.RegistrationRefused as refused:
        forms["business"].add_error(None, str(refused))
        return render(request, "broadcasts/registration.html", _context(request, forms), status=400)
    messages.success(
        request,
        "Submitted. Carriers usually decide within a few days; we email you when anything changes.",
    )
    return redirect("broadcasts:registration")


@admin_required
@require_POST
def registration_resubmit(request: HttpRequest, pk: int) -> HttpResponse:
    organization = request.organization
    step = selectors.step_of(organization=organization, pk=pk)
    if step is None:
        raise Http404("No such registration step.")
    record = services.registration_get(organization=organization)
    forms = _forms(request, record, request.POST)
    names = _needed(selectors.path_of(organization=organization))
    if not _valid(forms, names):
        return render(request, "broadcasts/registration.html", _context(request, forms), status=400)
    if step.status != Step.Status.FAILED:
        forms["business"].add_error(None, "Only a step that failed can be resubmitted.")
        return render(request, "broadcasts/registration.html", _context(request, forms), status=400)
    services.answers_save(organization=organization, **{n: forms[n].cleaned_data for n in names})
    try:
        services.step_resubmit(organization=organization, step=step)
    except services.RegistrationRefused as refused:
        forms["business"].add_error(None, str(refused))
        return render(request, "broadcasts/registration.html", _context(request, forms), status=400)
    messages.success(request, f"{step.get_kind_display()} resubmitted with your changes.")
    return redirect("broadcasts:registration")


@admin_required
@require_POST
def registration_otp(request: HttpRequest) -> HttpResponse:
    """Send the sole proprietor's confirmation text again."""
    try:
        services.brand_otp_resend(organization=request.organization)
    except services.RegistrationRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, "Sent again: the contact replies YES to Twilio's text.")
    return redirect("broadcasts:registration")


@csrf_exempt
@require_POST
def registration_callback(request: HttpRequest) -> HttpResponse:
    """Trust Hub's status callback: signed (403 otherwise), tolerant (200 for a bundle we do
    not know), idempotent (it only makes us ask Twilio, and a status is moved once)."""
    from broadcasts.webhooks import signed_by_twilio

    if not signed_by_twilio(request):
        return HttpResponseForbidden("bad signature")
    sid = request.POST.get("BundleSid") or request.POST.get("Sid") or ""
    if not SID.fullmatch(sid):
        return HttpResponse("ignored: no bundle sid", content_type="text/plain")
    try:
        services.callback_record(sid=sid)
    except services.ProviderError as error:
        # Twilio could not be asked just now; the scheduled refresh will.
        logger.warning("registration callback for %s: %s", sid, error)
    return HttpResponse("ok", content_type="text/plain")


@require_GET
def registration_opt_in(request: HttpRequest, token: str) -> HttpResponse:
    """Public: what a family sees and agrees to when it opts in (for carriers' reviewers)."""
    from families.services import policy_current

    organization = selectors.organization_of_opt_in_token(token)
    if organization is None:
        raise Http404("No such page.")
    context = {
        "org": organization,
        "policy": policy_current(organization=organization),
        "replies": selectors.app_replies(organization=organization),
    }
    return render(request, "broadcasts/registration_opt_in.html", context)
