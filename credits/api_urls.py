from django.urls import path

from credits import api

urlpatterns = [
    path("credits/balance/", api.credits_balance, name="api-credits-balance"),
    path("credits/ledger/", api.LedgerList.as_view(), name="api-credits-ledger"),
]
