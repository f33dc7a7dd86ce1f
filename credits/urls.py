from django.urls import path

from credits import views, webhooks

app_name = "credits"
urlpatterns = [
    path("", views.balance, name="balance"),
    path("ledger.csv", views.ledger_csv, name="ledger_csv"),
    path("settings/", views.sms_voice_settings, name="sms_voice_settings"),
    path("settings/card/", views.card, name="card"),
    path("settings/card/setup-intent/", views.card_setup_intent, name="card_setup_intent"),
    path("settings/card/remove/", views.card_remove, name="card_remove"),
    path("settings/auto-recharge/", views.auto_recharge, name="auto_recharge"),
    path("buy/", views.buy, name="buy"),
    path("purchases/", views.purchase_list, name="purchase_list"),
    path("purchases/<int:purchase_id>/", views.receipt, name="receipt"),
    path("purchases/<int:purchase_id>/confirm/", views.purchase_confirm, name="purchase_confirm"),
    path("purchases/<int:purchase_id>/retry/", views.purchase_retry, name="purchase_retry"),
    path("monthly-fee/pay/", views.monthly_fee_pay, name="monthly_fee_pay"),
    path("stripe/webhook/", webhooks.stripe_webhook, name="stripe_webhook"),
]
