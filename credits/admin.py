"""The operator's view of money: read-only, because balances and ledger entries change only
through credits.services (an operator's correction is ``credits_adjust``, with a memo)."""

from django.contrib import admin

from credits.models import CreditAccount, LedgerEntry, Purchase


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CreditAccount)
class CreditAccountAdmin(ReadOnlyAdmin):
    list_display = [
        "organization",
        "balance",
        "card_brand",
        "card_last4",
        "auto_recharge_enabled",
        "sending_suspended_at",
    ]
    search_fields = ["organization__name", "stripe_customer_id"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "organization", "kind", "credits", "balance_after", "reference"]
    list_filter = ["kind"]
    search_fields = ["organization__name", "reference", "memo"]
    date_hierarchy = "created_at"


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "created_at",
        "organization",
        "kind",
        "credits",
        "amount_cents",
        "status",
        "refund_shortfall_credits",
    ]
    list_filter = ["status", "kind", "source"]
    search_fields = ["organization__name", "stripe_payment_intent_id"]
