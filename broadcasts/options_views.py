"""Settings > SMS & Voice > Message options (admins): the page of broadcasts.sms.options."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from broadcasts.sms import ctia
from broadcasts.sms.options import (
    MessageOptionsForm,
    form_initial,
    message_options_update,
    sample_of,
)
from families.pages import posted
from smsvoice.tenancy import admin_required


@admin_required
def message_options(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    form = MessageOptionsForm(
        posted(request), organization=organization, initial=form_initial(organization)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        message_options_update(organization=organization, actor=request.user, data=data)
        messages.success(request, "Saved the message options.")
        return redirect("broadcasts:message_options")
    context = {
        "form": form,
        "sample": sample_of(organization),
        "law": ctia.why_footer_stays(organization),
        "may_omit": ctia.may_omit(organization),
    }
    return render(
        request, "broadcasts/message_options.html", context, status=400 if form.errors else 200
    )
