from django.urls import path

from broadcasts import options_views, review_views, views, webhooks

app_name = "broadcasts"
urlpatterns = [
    path("", views.broadcast_list, name="list"),
    path("<int:pk>/", views.broadcast_detail, name="detail"),
    path("<int:pk>/progress/", views.broadcast_progress_fragment, name="progress"),
    path("<int:pk>/cancel/", views.broadcast_cancel, name="cancel"),
    path("compose/sms/<str:kind>/", views.compose, name="compose"),
    path("compose/sms/<str:kind>/preview/", views.compose_preview, name="compose_preview"),
    path("audit/", views.audit_log, name="audit"),
    path("audit/export.csv", views.audit_log_csv, name="audit_csv"),
    path("outbox/", views.outbox, name="outbox"),
    path("outbox/reply/", views.outbox_reply, name="outbox_reply"),
    path("outbox/deliver/", views.outbox_deliver, name="outbox_deliver"),
    path("webhooks/twilio/status/", webhooks.twilio_status, name="twilio_status"),
    path("webhooks/twilio/sms/", webhooks.twilio_sms_inbound, name="twilio_sms"),
    path("webhooks/twilio/voice/", webhooks.twilio_voice_inbound, name="twilio_voice"),
    path("number/", views.sending_number, name="sending_number"),
    path("replies/review/", review_views.revocation_review_list, name="revocation_reviews"),
    path(
        "replies/review/<int:pk>/opt-out/",
        review_views.revocation_review_confirm,
        name="revocation_review_confirm",
    ),
    path(
        "replies/review/<int:pk>/dismiss/",
        review_views.revocation_review_dismiss,
        name="revocation_review_dismiss",
    ),
    path("options/", options_views.message_options, name="message_options"),
]

# Voice broadcasts (their own module, same namespace).
from broadcasts.voice.urls import urlpatterns as voice_urlpatterns  # noqa: E402

urlpatterns += voice_urlpatterns

# The Messaging Service and Australia's sender ID (issue 11; same namespace).
from broadcasts.messaging_urls import urlpatterns as messaging_urlpatterns  # noqa: E402

urlpatterns += messaging_urlpatterns

# US carrier registration (issue 11): Settings > SMS & Voice > Texting registration.
from broadcasts.registration.urls import urlpatterns as registration_urlpatterns  # noqa: E402

urlpatterns += registration_urlpatterns
