"""Voice broadcast pages and Twilio's voice webhooks, in the broadcasts namespace."""

from django.urls import path

from broadcasts.voice import views as voice_views
from broadcasts.voice import webhooks as voice_webhooks

urlpatterns = [
    path("compose/voice/<str:kind>/", voice_views.voice_compose, name="voice_compose"),
    path("compose/voice/<str:kind>/estimate/", voice_views.voice_estimate, name="voice_estimate"),
    path("voice/calls/<int:pk>/", voice_views.voice_call_progress, name="voice_call_progress"),
    path("voice/calls/<int:pk>/cancel/", voice_views.voice_call_cancel, name="voice_call_cancel"),
    path(
        "voice/calls/<int:pk>/simulate/",
        voice_views.voice_call_simulate,
        name="voice_call_simulate",
    ),
    path("<int:pk>/voice/progress/", voice_views.voice_progress_fragment, name="voice_progress"),
    path("<int:pk>/voice/send/", voice_views.voice_send_now, name="voice_send_now"),
    path("<int:pk>/voice/cancel/", voice_views.voice_cancel, name="voice_cancel"),
    path(
        "<int:pk>/voice/simulate/",
        voice_views.voice_simulate_answers,
        name="voice_simulate_answers",
    ),
    path(
        "webhooks/twilio/voice/record/<str:token>/<slug:step>/",
        voice_webhooks.voice_record_step,
        name="voice_record_step",
    ),
    path(
        "webhooks/twilio/voice/dial/<int:call_id>/<slug:step>/",
        voice_webhooks.voice_dial_step,
        name="voice_dial_step",
    ),
]
