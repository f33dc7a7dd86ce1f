from django.urls import path

from broadcasts import api
from broadcasts.voice import api as voice_api

urlpatterns = [
    path("broadcasts/preview/", api.broadcast_preview, name="api-broadcast-preview"),
    path("broadcasts/", api.BroadcastListCreate.as_view(), name="api-broadcasts"),
    path("broadcasts/<int:pk>/", api.BroadcastDetail.as_view(), name="api-broadcast-detail"),
    path("broadcasts/voice/", voice_api.voice_broadcast_create, name="api-voice-broadcasts"),
    path(
        "broadcasts/voice/calls/<int:pk>/",
        voice_api.voice_recording_call,
        name="api-voice-recording-call",
    ),
    path(
        "broadcasts/<int:pk>/voice/send/",
        voice_api.voice_broadcast_send_now,
        name="api-voice-send-now",
    ),
]
