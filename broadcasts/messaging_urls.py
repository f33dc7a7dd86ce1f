"""URLs of the Messaging Service settings (included into the broadcasts namespace)."""

from django.urls import path

from broadcasts import messaging_views

urlpatterns = [
    path("messaging-service/", messaging_views.messaging_service, name="messaging_service"),
    path("sender-id/", messaging_views.alpha_sender, name="alpha_sender"),
]
