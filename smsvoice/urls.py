from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from smsvoice import views
from smsvoice.tenancy import staff_required

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/logged-out/",
        TemplateView.as_view(template_name="registration/logged_out.html"),
        name="logout_page",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("", include("families.urls")),
    path("credits/", include("credits.urls")),
    path("broadcasts/", include("broadcasts.urls")),
    path("messenger/", include("broadcasts.conversations.urls")),
    path("portal/", include("portal.urls")),
    path("api/v1/", include("smsvoice.api_urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Staff only (SPECTACULAR_SETTINGS' SERVE_PERMISSIONS); the docs page, for people, sends an
    # anonymous visitor to the login. The split view serves Swagger UI's start-up script as a
    # file of its own, since the Content-Security-Policy allows no inline script.
    path(
        "api/v1/docs/",
        staff_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
]

handler404 = "smsvoice.views.not_found"
