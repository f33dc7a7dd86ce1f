"""Staff pages for replies that may revoke consent but are unclear (``broadcasts.sms.optouts``):
the list, and the two decisions. Staff who may view text logs decide; the conversations pages
(issue 13) may show the same reviews in threads and call the same services."""

from __future__ import annotations

from collections import defaultdict

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from broadcasts.sms.optouts import revocation_confirm, revocation_dismiss, revocation_reviews
from families.models import PhoneNumber, RevocationReview
from families.phones import phone_display
from smsvoice.permissions import text_logs_required

Verdict = RevocationReview.Verdict
SHOWS = {"pending": Verdict.PENDING, "decided": None, "all": None}


def _may_decide(request: HttpRequest) -> None:
    if not getattr(request.staff_member, "may_view_text_logs", True):
        raise PermissionDenied("You do not have the permission to view text logs.")


def _owners(organization, e164s: set[str]) -> dict[str, list[PhoneNumber]]:
    found: dict[str, list[PhoneNumber]] = defaultdict(list)
    numbers = (
        PhoneNumber.objects.for_org(organization)
        .filter(e164__in=e164s)
        .select_related("family", "field", "staff_member")
    )
    for number in numbers:
        found[number.e164].append(number)
    return found


@text_logs_required
def revocation_review_list(request: HttpRequest) -> HttpResponse:
    _may_decide(request)
    show = request.GET.get("show", "pending")
    show = show if show in SHOWS else "pending"
    reviews = revocation_reviews(organization=request.organization, verdict=SHOWS[show])
    if show == "decided":
        reviews = reviews.exclude(verdict=Verdict.PENDING)
    page = Paginator(reviews, 50).get_page(request.GET.get("page"))
    owners = _owners(request.organization, {r.e164 for r in page})
    rows = [(r, phone_display(r.e164), owners.get(r.e164, [])) for r in page]
    pending = revocation_reviews(organization=request.organization, verdict=Verdict.PENDING)
    return render(
        request,
        "broadcasts/revocation_reviews.html",
        {"page": page, "rows": rows, "show": show, "pending_count": pending.count()},
    )


def _review_or_404(request: HttpRequest, pk: int) -> RevocationReview:
    return get_object_or_404(RevocationReview.objects.for_org(request.organization), pk=pk)


@text_logs_required
@require_POST
def revocation_review_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    _may_decide(request)
    review = _review_or_404(request, pk)
    calls = review.names_calls or request.POST.get("calls") == "1"
    try:
        revocation_confirm(review=review, actor=request.user, calls=calls)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        also = " and calls" if calls else ""
        messages.success(
            request,
            f"{phone_display(review.e164)} is opted out of texts{also}; "
            "it is recorded in its consent history.",
        )
    return redirect("broadcasts:revocation_reviews")


@text_logs_required
@require_POST
def revocation_review_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    _may_decide(request)
    review = _review_or_404(request, pk)
    try:
        revocation_dismiss(review=review, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, f"Kept: the reply from {phone_display(review.e164)} is not a revocation."
        )
    return redirect("broadcasts:revocation_reviews")
