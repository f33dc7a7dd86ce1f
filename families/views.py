from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from families.models import Family
from smsvoice.tenancy import staff_required


@staff_required
def family_list(request: HttpRequest) -> HttpResponse:
    families = Family.objects.for_org(request.organization)[:50]
    return render(request, "families/family_list.html", {"families": families})
