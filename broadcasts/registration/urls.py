"""URLs of texting registration (in the broadcasts namespace)."""

from django.urls import path

from broadcasts.registration import views

urlpatterns = [
    path("registration/", views.registration, name="registration"),
    path(
        "registration/steps/<int:pk>/resubmit/",
        views.registration_resubmit,
        name="registration_resubmit",
    ),
    path("registration/otp/", views.registration_otp, name="registration_otp"),
    path("registration/opt-in/<str:token>/", views.registration_opt_in, name="registration_opt_in"),
    path(
        "webhooks/twilio/registration/",
        views.registration_callback,
        name="registration_callback",
    ),
]
