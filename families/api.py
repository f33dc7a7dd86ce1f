"""The people directory over JSON: the three lists, with the pages' filters, and selection counts.

Same filtersets and row queries as the HTML lists (``families.list_selectors``), so a filter
means the same thing everywhere; every queryset is scoped to the staff member's organization.
"""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from families.list_selectors import page_rows, stable_order
from families.models import Family, Student
from families.selection import KINDS, Selection, SelectionError, kind_queryset, selection_count
from smsvoice.models import StaffMember
from smsvoice.parsers import JSONParser


class OrganizationFilterBackend(DjangoFilterBackend):
    """django-filter, with the organization our filtersets need for their choice lists."""

    def get_filterset_kwargs(self, request, queryset, view):
        return {**super().get_filterset_kwargs(request, queryset, view), "organization": view.org}


# --- Serializers ---


class StudentNameSerializer(serializers.ModelSerializer):
    class Meta:
        model = Student
        fields = ["id", "first_name", "last_name"]


class _NumbersMixin(serializers.Serializer):
    phone_count = serializers.IntegerField(read_only=True, help_text="Phone numbers on file.")
    opted_in_count = serializers.IntegerField(
        read_only=True, help_text="Text-capable numbers opted in to texts."
    )


class FamilySerializer(_NumbersMixin, serializers.ModelSerializer):
    location = serializers.CharField(source="location.name", read_only=True, allow_null=True)
    students = StudentNameSerializer(many=True, read_only=True)

    class Meta:
        model = Family
        fields = [
            "id",
            "external_id",
            "name",
            "status",
            "location",
            "students",
            "phone_count",
            "opted_in_count",
        ]


class StudentSerializer(_NumbersMixin, serializers.ModelSerializer):
    family_name = serializers.CharField(source="family.name", read_only=True)
    program = serializers.CharField(source="program.name", read_only=True, allow_null=True)

    class Meta:
        model = Student
        fields = [
            "id",
            "external_id",
            "first_name",
            "last_name",
            "family",
            "family_name",
            "program",
            "level",
            "status",
            "birth_date",
            "phone_count",
            "opted_in_count",
        ]


class StaffSerializer(_NumbersMixin, serializers.ModelSerializer):
    class Meta:
        model = StaffMember
        fields = [
            "id",
            "first_name",
            "last_name",
            "title",
            "email",
            "role",
            "is_active",
            "phone_count",
            "opted_in_count",
        ]


_SCALAR = [{"type": "string"}, {"type": "integer"}, {"type": "number"}]


def _filter_schema() -> dict:
    """The filter's names are the list filters' (each kind takes its own list's; sort and page
    are accepted and ignored), each a value or a list of values, as in a query string."""
    names = set().union(*(filterset.base_filters for _, filterset in KINDS.values()))
    value = {"anyOf": [*_SCALAR, {"type": "array", "items": {"anyOf": _SCALAR}}]}
    return {
        "type": "object",
        "nullable": True,
        "properties": {name: value for name in sorted(names | {"page", "sort"})},
        "additionalProperties": False,
    }


@extend_schema_field(_filter_schema())
class SelectionFilterField(serializers.DictField):
    pass


class SelectionSerializer(serializers.Serializer):
    """Documents the selection; ``Selection.from_dict`` reads it, with its own messages."""

    kind = serializers.ChoiceField(choices=list(KINDS))
    ids = serializers.ListField(child=serializers.IntegerField(), required=False)
    filter = SelectionFilterField(
        required=False,
        allow_null=True,
        help_text='The list filter, as on the list pages ({"program": "3", "opted_in": "yes"}). '
        "null: no filter; {}: every row.",
    )
    exclude = serializers.ListField(child=serializers.IntegerField(), required=False)


class SelectionCountSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    selection = SelectionSerializer(help_text="The selection as understood, normalised.")


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


# --- Views ---


class _DirectoryList(generics.ListAPIView):
    kind: str
    filter_backends = [OrganizationFilterBackend]

    @property
    def org(self):
        return self.request.organization

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the types
            return KINDS[self.kind][0].objects.none()
        return kind_queryset(organization=self.org, kind=self.kind)

    def filter_queryset(self, queryset):
        return stable_order(super().filter_queryset(queryset))

    def list(self, request: Request, *args, **kwargs) -> Response:
        # Page the ids, then decorate only that page's rows (see list_selectors.page_rows).
        base = self.get_queryset()
        ids = self.paginate_queryset(self.filter_queryset(base).values_list("pk", flat=True))
        rows = page_rows(kind=self.kind, queryset=base, ids=list(ids))
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)


@extend_schema(tags=["directory"], summary="Families, filtered like the Families page")
class FamilyListAPI(_DirectoryList):
    kind = "families"
    serializer_class = FamilySerializer
    filterset_class = KINDS["families"][1]


@extend_schema(tags=["directory"], summary="Students, filtered like the Students page")
class StudentListAPI(_DirectoryList):
    kind = "students"
    serializer_class = StudentSerializer
    filterset_class = KINDS["students"][1]


@extend_schema(tags=["directory"], summary="Staff members, filtered like the Staff page")
class StaffListAPI(_DirectoryList):
    kind = "staff"
    serializer_class = StaffSerializer
    filterset_class = KINDS["staff"][1]


class SelectionCountAPI(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        tags=["directory"],
        summary="How many rows a selection holds",
        description="members = (rows matching `filter` ∪ `ids`) − `exclude`, in your organization "
        "only: ids of other organizations count as nothing.",
        request=SelectionSerializer,
        responses={200: SelectionCountSerializer, 400: ErrorSerializer},
        examples=[
            OpenApiExample(
                "Everyone in a program but one",
                value={"kind": "families", "filter": {"program": "3"}, "exclude": [12]},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        try:
            selection = Selection.from_dict(request.data)
            count = selection_count(organization=request.organization, selection=selection)
        except SelectionError as exc:
            return Response({"detail": str(exc)}, status=400)
        return Response({"count": count, "selection": selection.to_dict()})
