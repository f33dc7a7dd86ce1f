from django.urls import path

from credits import webhooks

app_name = "credits"
urlpatterns = [
    path("stripe/webhook/", webhooks.stripe_webhook, name="stripe_webhook"),
]
