"""The JSON API, /api/v1/: each app adds its routes here."""

from django.urls import include, path

urlpatterns = [
    path("", include("families.api_urls")),
    path("", include("broadcasts.api_urls")),
    path("", include("broadcasts.conversations.api_urls")),
    path("", include("credits.api_urls")),
]
