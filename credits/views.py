"""The credits pages: balance and ledger (staff), and Settings > SMS & Voice, where admins keep
a card on file, buy credits, set auto-recharge and pay Australia's monthly fee.

Views are thin: they read through credits.selectors, write through credits.payments and
credits.services, and scope everything to ``request.organization``."""

from __future__ import annotations

import csv
import uuid

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils import timezone
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from credits import payments, selectors, services
from credits import stripe_gateway as gateway
from credits.forms import AutoRechargeForm, BuyForm, LedgerFilterForm, TestCardForm
from credits.models import CreditAccount, Purchase
from credits.pricing import credit_price_cents, monthly_fee_cents
from smsvoice.localtime import organization_zone, stream_in_zone
from smsvoice.models import Organization
from smsvoice.tenancy import admin_required, staff_required

SENDING_NUMBER_TEMPLATE = "broadcasts/_sending_number_settings.html"


def _account(organization: Organization) -> CreditAccount:
    return selectors.credit_account(organization=organization) or CreditAccount(
        organization=organization
    )


def _prices(organization: Organization) -> dict:
    unit = credit_price_cents(organization=organization)
    return {
        "unit_cents": unit,
        "packs": [(credits, credits * unit) for credits in settings.CREDIT_PACKS],
        "monthly_fee_cents": monthly_fee_cents(organization=organization),
        "custom_min": settings.CREDIT_CUSTOM_MIN,
        "custom_max": settings.CREDIT_CUSTOM_MAX,
        "country": organization.get_country_display(),
        "voice_allowed": organization.voice_allowed,
    }


def _payments_context() -> dict:
    return {
        "payments_ready": gateway.is_configured(),
        "test_mode": gateway.uses_local_stand_in(),
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
    }


# --- Balance and ledger (all staff) ----------------------------------------------------------


@staff_required
def balance(request: HttpRequest) -> HttpResponse:
    org = request.organization
    form = LedgerFilterForm(request.GET or None)
    entries = selectors.ledger_entries(organization=org, **form.filters())
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    balance = selectors.credits_balance(organization=org)
    context = {
        "balance": balance,
        "balance_cents": balance * credit_price_cents(organization=org),
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "prices": _prices(org),
        "account": _account(org),
    }
    if request.staff_member.is_admin:
        context["recent_purchases"] = selectors.purchases(organization=org)[:5]
    return render(request, "credits/balance.html", context)


CSV_COLUMNS = [
    "kind",
    "credits",
    "balance after",
    "amount (US$)",
    "reference",
    "by",
    "memo",
    "purchase",
]


class _Echo:
    def write(self, value: str) -> str:
        return value


@staff_required
def ledger_csv(request: HttpRequest) -> StreamingHttpResponse:
    form = LedgerFilterForm(request.GET or None)
    entries = selectors.ledger_entries(organization=request.organization, **form.filters())
    writer = csv.writer(_Echo())
    zone = organization_zone(request.organization)

    def rows():
        # Times in the organization's zone, as on the page, and the header says which.
        yield writer.writerow([f"time ({zone.key})", *CSV_COLUMNS])
        for e in entries.iterator(chunk_size=1000):
            yield writer.writerow(
                [
                    timezone.localtime(e.created_at).isoformat(timespec="seconds"),
                    e.kind,
                    e.credits,
                    e.balance_after,
                    f"{e.amount_cents // 100}.{e.amount_cents % 100:02d}" if e.amount_cents else "",
                    e.reference,
                    e.actor_label,
                    _csv_safe(e.memo),
                    e.purchase_id or "",
                ]
            )

    response = StreamingHttpResponse(
        stream_in_zone(zone, rows()), content_type="text/csv; charset=utf-8"
    )
    filename = f"ledger-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _csv_safe(text: str) -> str:
    """A cell a spreadsheet would run as a formula gets a leading quote."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


# --- Settings > SMS & Voice (admins) ---------------------------------------------------------


def _sending_number_section() -> str:
    """The SMS issue's sending-number settings, when that template exists."""
    try:
        get_template(SENDING_NUMBER_TEMPLATE)
    except TemplateDoesNotExist:
        return ""
    return SENDING_NUMBER_TEMPLATE


@admin_required
def sms_voice_settings(request: HttpRequest) -> HttpResponse:
    org = request.organization
    context = {
        "account": _account(org),
        "balance": selectors.credits_balance(organization=org),
        "prices": _prices(org),
        "unpaid_fee": selectors.open_monthly_fee(organization=org),
        "sending_number_template": _sending_number_section(),
        **_payments_context(),
    }
    return render(request, "credits/settings.html", context)


@admin_required
def card(request: HttpRequest) -> HttpResponse:
    org = request.organization
    form = TestCardForm(request.POST or None)
    if request.method == "POST" and gateway.is_configured():
        saved = _card_save(request, form)
        if saved:
            messages.success(
                request, f"Card on file: {saved.card_brand.title()} ending {saved.card_last4}."
            )
            return redirect("credits:sms_voice_settings")
    context = {"account": _account(org), "form": form, **_payments_context()}
    return render(request, "credits/card.html", context)


def _card_save(request: HttpRequest, form: TestCardForm) -> CreditAccount | None:
    """The Elements path posts a confirmed SetupIntent id; test mode posts the form."""
    org = request.organization
    try:
        if request.POST.get("setup_intent_id"):
            return payments.card_save(
                organization=org, setup_intent_id=request.POST["setup_intent_id"]
            )
        if not gateway.uses_local_stand_in():
            form.add_error(None, "Enter the card in the card field above.")
            return None
        if not form.is_valid():
            return None
        return payments.card_save_test_card(organization=org, **form.cleaned_data)
    except gateway.PaymentError as error:
        form.add_error(None, f"The card was not saved: {error.message}")
        return None


@admin_required
@require_POST
def card_setup_intent(request: HttpRequest) -> JsonResponse:
    """Stripe Elements asks for a SetupIntent's client secret to confirm the card with."""
    try:
        _, client_secret = payments.card_setup_start(organization=request.organization)
    except gateway.PaymentError as error:
        return JsonResponse({"error": error.message}, status=502)
    return JsonResponse({"client_secret": client_secret})


@admin_required
@require_POST
def card_remove(request: HttpRequest) -> HttpResponse:
    payments.card_remove(organization=request.organization)
    messages.success(request, "The card was removed. Add one before buying credits again.")
    return redirect("credits:sms_voice_settings")


@admin_required
def auto_recharge(request: HttpRequest) -> HttpResponse:
    org = request.organization
    account = _account(org)
    initial = {
        "enabled": account.auto_recharge_enabled,
        "threshold": account.auto_recharge_threshold,
        "pack": account.auto_recharge_pack,
    }
    form = AutoRechargeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["enabled"] and not account.has_card:
            form.add_error(
                None, "Add a payment card first: auto-recharge charges the card on file."
            )
        else:
            services.auto_recharge_update(organization=org, **form.cleaned_data)
            state = "on" if form.cleaned_data["enabled"] else "off"
            messages.success(request, f"Auto-recharge is {state}.")
            return redirect("credits:sms_voice_settings")
    context = {"form": form, "account": account, "prices": _prices(org)}
    return render(request, "credits/auto_recharge.html", context)


# --- Buying credits (admins) -----------------------------------------------------------------


@admin_required
def buy(request: HttpRequest) -> HttpResponse:
    org = request.organization
    account = _account(org)
    form = BuyForm(request.POST or None)
    context = {"form": form, "account": account, "prices": _prices(org), **_payments_context()}
    if request.method != "POST":
        return render(request, "credits/buy.html", context)
    if not form.is_valid():
        return render(request, "credits/buy.html", context, status=400)
    if not account.has_card:
        form.add_error(None, str(payments.NoCardOnFile()))
        return render(request, "credits/buy.html", context, status=400)
    credits = form.cleaned_data["credits"]
    if request.POST.get("step") != "confirm":
        context.update(
            credits=credits,
            amount_cents=credits * credit_price_cents(organization=org),
            token=uuid.uuid4().hex,
        )
        return render(request, "credits/buy_confirm.html", context)
    return _buy_confirmed(request, credits=credits, token=form.cleaned_data["token"])


def _buy_confirmed(request: HttpRequest, *, credits: int, token: str) -> HttpResponse:
    try:
        purchase = payments.purchase_create(
            organization=request.organization,
            credits=credits,
            actor=request.user,
            client_token=token[:64],
        )
        purchase = payments.purchase_charge(purchase_id=purchase.id)
    except payments.NoCardOnFile as error:
        messages.error(request, str(error))
        return redirect("credits:card")
    except gateway.PaymentUnavailable as error:
        messages.error(request, error.message)
        return redirect("credits:purchase_list")
    _say_how_it_went(request, purchase)
    return redirect("credits:receipt", purchase_id=purchase.id)


def _say_how_it_went(request: HttpRequest, purchase: Purchase) -> None:
    if purchase.status == Purchase.Status.SUCCEEDED and purchase.kind == Purchase.Kind.CREDITS:
        added = ngettext(
            "Paid. %(n)s credit was added.", "Paid. %(n)s credits were added.", purchase.credits
        )
        messages.success(request, added % {"n": f"{purchase.credits:,}"})
    elif purchase.status == Purchase.Status.SUCCEEDED:
        messages.success(request, "Paid. The monthly fee is paid and sending is on again.")
    elif purchase.status == Purchase.Status.FAILED:
        messages.error(request, f"The payment failed: {purchase.failure_message}")
    elif purchase.status == Purchase.Status.REQUIRES_ACTION:
        messages.warning(request, "Your card's bank asks you to confirm this payment; see below.")
    else:
        messages.info(request, "The payment is processing. This page updates when it is done.")


@admin_required
def purchase_list(request: HttpRequest) -> HttpResponse:
    purchases = selectors.purchases(organization=request.organization)
    page = Paginator(purchases, 50).get_page(request.GET.get("page"))
    return render(request, "credits/purchase_list.html", {"page": page})


@admin_required
def receipt(request: HttpRequest, purchase_id: int) -> HttpResponse:
    purchase = get_object_or_404(
        selectors.purchases(organization=request.organization), id=purchase_id
    )
    client_secret = ""
    if purchase.status == Purchase.Status.REQUIRES_ACTION and purchase.stripe_payment_intent_id:
        try:
            payment = gateway.payment_retrieve(payment_intent_id=purchase.stripe_payment_intent_id)
            client_secret = payment.client_secret
        except gateway.PaymentError:
            client_secret = ""
    context = {"purchase": purchase, "client_secret": client_secret, **_payments_context()}
    return render(request, "credits/receipt.html", context)


@admin_required
@require_POST
def purchase_confirm(request: HttpRequest, purchase_id: int) -> HttpResponse:
    """After the bank's confirmation (Stripe.js in production, buttons in test mode), or to ask
    Stripe again about a processing payment."""
    purchase = get_object_or_404(
        selectors.purchases(organization=request.organization), id=purchase_id
    )
    try:
        if request.POST.get("approve") in ("yes", "no") and purchase.stripe_payment_intent_id:
            gateway.payment_authenticate_test(
                payment_intent_id=purchase.stripe_payment_intent_id,
                approve=request.POST["approve"] == "yes",
            )
        purchase = payments.purchase_refresh(purchase=purchase)
    except gateway.PaymentError as error:
        messages.error(request, error.message)
        return redirect("credits:receipt", purchase_id=purchase.id)
    _say_how_it_went(request, purchase)
    return redirect("credits:receipt", purchase_id=purchase.id)


@admin_required
@require_POST
def purchase_retry(request: HttpRequest, purchase_id: int) -> HttpResponse:
    """A purchase left pending because Stripe could not be reached: try again, same key."""
    purchase = get_object_or_404(
        selectors.purchases(organization=request.organization), id=purchase_id
    )
    try:
        purchase = payments.purchase_charge(purchase_id=purchase.id)
    except gateway.PaymentUnavailable as error:
        messages.error(request, error.message)
        return redirect("credits:receipt", purchase_id=purchase.id)
    _say_how_it_went(request, purchase)
    return redirect("credits:receipt", purchase_id=purchase.id)


@admin_required
@require_POST
def monthly_fee_pay(request: HttpRequest) -> HttpResponse:
    try:
        purchase = payments.monthly_fee_pay_now(
            organization=request.organization, actor=request.user
        )
    except payments.NoCardOnFile as error:
        messages.error(request, str(error))
        return redirect("credits:card")
    except gateway.PaymentUnavailable as error:
        messages.error(request, error.message)
        return redirect("credits:sms_voice_settings")
    if purchase is None:
        messages.info(request, "There is no unpaid monthly fee.")
        return redirect("credits:sms_voice_settings")
    _say_how_it_went(request, purchase)
    return redirect("credits:receipt", purchase_id=purchase.id)
