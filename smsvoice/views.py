from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views import defaults

from smsvoice.http import SafeNextMixin, is_api


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Staff land on their families; guardians on the portal."""
    if request.staff_member is not None:
        return redirect("families:family_list")
    if hasattr(request.user, "guardian"):
        return redirect("portal:home")
    if request.user.is_superuser:
        return redirect("admin:index")
    return redirect("logout_page")


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


class LoginView(SafeNextMixin, auth_views.LoginView):
    """The staff login; its `next` goes through safe_next like every other."""


class LogoutView(SafeNextMixin, auth_views.LogoutView):
    pass


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404: JSON under /api/ (an address no route matches, like /api/v1/broadcasts/abc/), the
    404 page elsewhere."""
    if is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
