from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect


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
