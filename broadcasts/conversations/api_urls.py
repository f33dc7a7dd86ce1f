"""The conversations API's routes (included from smsvoice/api_urls.py)."""

from django.urls import path

from broadcasts.conversations import api

urlpatterns = [
    path("conversations/", api.ConversationList.as_view(), name="api-conversations"),
    path("conversations/<int:pk>/", api.conversation_thread, name="api-conversation"),
    path("conversations/<int:pk>/reply/", api.conversation_reply, name="api-conversation-reply"),
    path("conversations/<int:pk>/status/", api.conversation_status, name="api-conversation-status"),
]
