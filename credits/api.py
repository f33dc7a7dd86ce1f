"""The credits API (staff): the balance, and the ledger page by page."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from credits import selectors
from credits.forms import LedgerFilterForm
from credits.models import LedgerEntry
from credits.pricing import credit_price_cents


class BalanceSerializer(serializers.Serializer):
    balance = serializers.IntegerField(help_text="Credits available.")
    price_cents_per_credit = serializers.IntegerField(help_text="US cents.")
    value_cents = serializers.IntegerField(help_text="The balance at that price, in US cents.")
    sending_suspended = serializers.BooleanField()
    sending_suspended_reason = serializers.CharField(allow_blank=True)


class LedgerEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = LedgerEntry
        fields = [
            "id",
            "created_at",
            "kind",
            "credits",
            "balance_after",
            "amount_cents",
            "reference",
            "actor_label",
            "memo",
            "purchase",
        ]


@extend_schema(responses=BalanceSerializer)
@api_view(["GET"])
def credits_balance(request: Request) -> Response:
    org = request.organization
    balance = selectors.credits_balance(organization=org)
    price = credit_price_cents(organization=org)
    reason = selectors.sending_suspended_reason(organization=org)
    data = {
        "balance": balance,
        "price_cents_per_credit": price,
        "value_cents": balance * price,
        "sending_suspended": bool(reason),
        "sending_suspended_reason": reason,
    }
    return Response(BalanceSerializer(data).data)


@extend_schema(
    parameters=[
        OpenApiParameter("kind", enum=LedgerEntry.Kind.values),
        OpenApiParameter("date_from", type=str, description="YYYY-MM-DD, inclusive"),
        OpenApiParameter("date_to", type=str, description="YYYY-MM-DD, inclusive"),
    ]
)
class LedgerList(ListAPIView):
    """Newest first, 50 a page."""

    serializer_class = LedgerEntrySerializer
    filter_backends: list = []

    def get_queryset(self):
        form = LedgerFilterForm(self.request.query_params or None)
        filters = form.filters()
        if form.is_bound and form.errors:
            raise serializers.ValidationError(form.errors)
        return selectors.ledger_entries(organization=self.request.organization, **filters)
