from django.urls import path

from broadcasts import api

urlpatterns = [
    path("broadcasts/preview/", api.broadcast_preview, name="api-broadcast-preview"),
    path("broadcasts/", api.BroadcastListCreate.as_view(), name="api-broadcasts"),
    path("broadcasts/<int:pk>/", api.BroadcastDetail.as_view(), name="api-broadcast-detail"),
]
