"""Downloads of the directory as CSV (``families.export``): a page link for admins, and
``GET /api/v1/export/{kind}/`` for admins' sessions and API keys with the read scope."""

from __future__ import annotations

from django.http import Http404, HttpRequest, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from families.export import KINDS, csv_lines, export_filename, export_rows
from smsvoice.models import Organization
from smsvoice.tenancy import IsAdminOfOrganization, admin_required


def _csv_response(organization: Organization, kind: str) -> StreamingHttpResponse:
    if kind not in KINDS:
        raise Http404("No such export.")
    rows = export_rows(organization=organization, kind=kind)
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    name = export_filename(organization=organization, kind=kind)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


@admin_required
def directory_export(request: HttpRequest, kind: str) -> StreamingHttpResponse:
    return _csv_response(request.organization, kind)


class JSONForErrors(BaseContentNegotiation):
    """The file is streamed by the view whatever the client accepts; whatever goes wrong
    before it (403, 404) is answered in JSON, as the schema says."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class DirectoryExportAPI(APIView):
    permission_classes = [IsAdminOfOrganization]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONForErrors

    @extend_schema(
        tags=["directory"],
        summary="The directory as CSV (families, students, staff, or numbers with consent)",
        description="Streamed; a cell a spreadsheet would run as a formula starts with an "
        "apostrophe. Admins, or an API key with the read scope.",
        parameters=[OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=list(KINDS))],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The CSV file.")
        },
    )
    def get(self, request: Request, kind: str) -> StreamingHttpResponse:
        return _csv_response(request._request.organization, kind)
