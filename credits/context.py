"""Template context for every page: why sending is suspended, for the staff-side banner."""

from django.http import HttpRequest

from credits.selectors import sending_suspended_reason


def sending_suspension(request: HttpRequest) -> dict[str, str]:
    organization = getattr(request, "organization", None)
    if organization is None:
        return {}
    return {"sending_suspension": sending_suspended_reason(organization=organization)}
