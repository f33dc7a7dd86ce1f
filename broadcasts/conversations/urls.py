"""The messenger's pages, under /messenger/."""

from django.urls import path

from broadcasts.conversations import views

app_name = "conversations"
urlpatterns = [
    path("", views.messenger, name="list"),
    path("unread/", views.unread_badge, name="unread"),
    path("rows/", views.rows, name="rows"),
    path("digest/", views.digest_toggle, name="digest"),
    path("<int:pk>/", views.conversation_detail, name="detail"),
    path("<int:pk>/timeline/", views.timeline, name="timeline"),
    path("<int:pk>/reply/", views.reply, name="reply"),
    path("<int:pk>/reply/preview/", views.reply_preview, name="reply_preview"),
    path("<int:pk>/status/", views.status_change, name="status"),
    path("<int:pk>/assign/", views.assign, name="assign"),
    path("<int:pk>/reviews/<int:review_pk>/", views.review_decide, name="review"),
]
