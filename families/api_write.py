"""The write API of the people directory: families, guardians, students and their numbers.

A nightly sync is a loop of ``PUT /api/v1/families/by-external-id/{external_id}/``: the family
with its guardians, students and numbers in one body, created the first time, updated after,
and left as it is when nothing changed (the answer says ``"result": "created" | "updated" |
"unchanged"``). Keys left out keep their values; guardians, students and numbers the body does
not name are left alone (deactivate them with DELETE). Rows made on the pages, without an
external id, are reached by id (``/families/{id}/``…) the same way.

Every value is judged by the pages' own forms (``families.sync``), so the API refuses with the
pages' words: 400 ``{"field": ["message"]}`` (nested: ``{"students": [{}, {"birth_date":
[...]}]}``), nothing written. Rows are looked up in the request's organization only (an API
key's, never a client-sent id): another organization's ids and external ids answer 404.

Texting consent: ``"texts": true`` on a number needs ``consent_basis`` (how the customer gave
consent), recorded as a ConsentEvent with source ``api``, the basis, and the key (or person)
that sent it. A number that replied STOP is not turned back on.

API keys need the ``write`` scope for PUT, POST, PATCH and DELETE here (``read`` for GET).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model, Prefetch, QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from families import sync
from families.api import FamilyListAPI, StudentListAPI
from families.models import (
    ConsentEvent,
    Family,
    Guardian,
    OptOut,
    PhoneField,
    PhoneNumber,
    Student,
)
from families.services import actor_label_for, guardian_delete
from smsvoice.models import APIKey

WRITE = {"POST": APIKey.Scope.WRITE, "PUT": APIKey.Scope.WRITE}
WRITE |= {"PATCH": APIKey.Scope.WRITE, "DELETE": APIKey.Scope.WRITE}
RESULTS = ["created", "updated", "unchanged"]


# --- Request bodies: types only; the values are judged by the forms (families.sync) ---


def _text(help_text: str = "", **kwargs) -> serializers.CharField:
    return serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, help_text=help_text, **kwargs
    )


class _FormJudgedChoice(serializers.ChoiceField):
    """Documented as its enum; the value is judged by the page's form, with the form's words."""

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, bool) or not isinstance(data, (str, int, float)):
            self.fail("invalid_choice", input=data)
        return str(data)


def FamilyStatus(**kwargs) -> serializers.ChoiceField:
    return _FormJudgedChoice(choices=Family.Status.choices, **kwargs)


def StudentStatus(**kwargs) -> serializers.ChoiceField:
    return _FormJudgedChoice(choices=Student.Status.choices, **kwargs)


class GuardianWriteSerializer(serializers.Serializer):
    external_id = _text("This guardian's id in your system.")
    first_name = _text()
    last_name = _text()
    email = _text()


class StudentWriteSerializer(serializers.Serializer):
    external_id = _text("This student's id in your system.")
    first_name = _text()
    last_name = _text()
    birth_date = _text("YYYY-MM-DD (or as the Date of birth box takes it); empty for none.")
    program = _text("A program's name; a new name makes the program.", allow_null=True)
    level = _text()
    status = StudentStatus(required=False)


class NumberWriteSerializer(serializers.Serializer):
    number = _text("As typed, in the organization's country; empty removes the number.")
    text_capable = serializers.BooleanField(required=False, allow_null=True)
    texts = serializers.BooleanField(
        required=False,
        allow_null=True,
        help_text="The texting opt-in. true needs consent_basis; false opts the number out.",
    )
    consent_basis = _text(
        "How the customer gave consent to texts (e.g. 'written consent on the enrollment form, "
        "2026-08-01'); recorded as a consent event with source api."
    )


class FamilyNumberWriteSerializer(NumberWriteSerializer):
    field = serializers.CharField(help_text="A Family Template field: its label or its id.")


class FamilyWriteSerializer(serializers.Serializer):
    name = _text()
    status = FamilyStatus(required=False)
    location = _text("A location's name; a new name makes the location.", allow_null=True)
    notes = _text()
    guardians = GuardianWriteSerializer(many=True, required=False)
    students = StudentWriteSerializer(many=True, required=False)
    numbers = FamilyNumberWriteSerializer(many=True, required=False)


class FamilyCreateSerializer(FamilyWriteSerializer):
    external_id = _text("This family's id in your system (optional).")


class MemberWriteMixin(serializers.Serializer):
    family = serializers.IntegerField(required=False, help_text="The family's id.")
    family_external_id = _text("Or the family's external id.")


class GuardianUpsertSerializer(MemberWriteMixin, GuardianWriteSerializer):
    pass


class StudentUpsertSerializer(MemberWriteMixin, StudentWriteSerializer):
    pass


# --- Answers ---


class GuardianOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = Guardian
        fields = ["id", "external_id", "family", "first_name", "last_name", "email"]


class StudentOutSerializer(serializers.ModelSerializer):
    program = serializers.CharField(source="program.name", read_only=True, allow_null=True)

    class Meta:
        model = Student
        fields = [
            "id",
            "external_id",
            "family",
            "first_name",
            "last_name",
            "birth_date",
            "program",
            "level",
            "status",
        ]


class NumberOutSerializer(serializers.ModelSerializer):
    field = serializers.CharField(source="field.label", read_only=True)
    field_id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(source="e164", read_only=True)
    texts = serializers.BooleanField(source="sms_opt_in", read_only=True)
    replied_stop = serializers.SerializerMethodField()

    class Meta:
        model = PhoneNumber
        fields = ["field", "field_id", "number", "text_capable", "texts", "replied_stop"]

    def get_replied_stop(self, number: PhoneNumber) -> bool:
        return number.e164 in self.context.get("stopped", ())


class FamilyOutSerializer(serializers.ModelSerializer):
    location = serializers.CharField(source="location.name", read_only=True, allow_null=True)
    guardians = GuardianOutSerializer(many=True, read_only=True)
    students = StudentOutSerializer(many=True, read_only=True)
    numbers = NumberOutSerializer(source="phone_numbers", many=True, read_only=True)

    class Meta:
        model = Family
        fields = [
            "id",
            "external_id",
            "name",
            "status",
            "location",
            "notes",
            "guardians",
            "students",
            "numbers",
        ]


class _Result(serializers.Serializer):
    result = serializers.ChoiceField(choices=RESULTS, help_text="What this request did.")


class FamilyResultSerializer(_Result, FamilyOutSerializer):
    class Meta(FamilyOutSerializer.Meta):
        fields = ["result", *FamilyOutSerializer.Meta.fields]


class GuardianResultSerializer(_Result, GuardianOutSerializer):
    class Meta(GuardianOutSerializer.Meta):
        fields = ["result", *GuardianOutSerializer.Meta.fields]


class StudentResultSerializer(_Result, StudentOutSerializer):
    class Meta(StudentOutSerializer.Meta):
        fields = ["result", *StudentOutSerializer.Meta.fields]


class NumberResultSerializer(_Result, NumberOutSerializer):
    class Meta(NumberOutSerializer.Meta):
        fields = ["result", *NumberOutSerializer.Meta.fields]


# --- Helpers ---


def _families(organization) -> QuerySet:
    numbers = PhoneNumber.objects.select_related("field").order_by("field__order", "field_id")
    return (
        Family.objects.for_org(organization)
        .select_related("location")
        .prefetch_related(
            "guardians",
            Prefetch("students", queryset=Student.objects.select_related("program")),
            Prefetch("phone_numbers", queryset=numbers),
        )
    )


def _stopped(organization, numbers) -> set[str]:
    e164s = [n.e164 for n in numbers]
    if not e164s:
        return set()
    return set(
        OptOut.objects.for_org(organization).filter(e164__in=e164s).values_list("e164", flat=True)
    )


def _family_answer(request: Request, family: Family, result: str | None) -> Response:
    family = _families(request._request.organization).get(pk=family.pk)
    context = {"stopped": _stopped(family.organization, family.phone_numbers.all())}
    data = FamilyOutSerializer(family, context=context).data
    code = status.HTTP_201_CREATED if result == "created" else status.HTTP_200_OK
    return Response({"result": result, **data} if result else data, status=code)


def _actor(request: Request) -> tuple[Any, str]:
    """Who the consent evidence names: the API key (and the admin who made it) or the person."""
    user = request.user if request.user.is_authenticated else None
    label = actor_label_for(user)
    if isinstance(request.auth, APIKey):
        label = f"API key “{request.auth.name}” ({label})"[:150]
    return user, label


def _body(request: Request, serializer_class: type[serializers.Serializer]) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _bad(errors: Any) -> Response:
    return Response(errors, status=status.HTTP_400_BAD_REQUEST)


def _errors_of(exc: ValidationError) -> dict:
    return exc.message_dict if hasattr(exc, "error_dict") else {"detail": " ".join(exc.messages)}


def _list_errors(items: list, check: Callable[[dict], dict]) -> list | None:
    errors = [check(item) for item in items]
    return errors if any(errors) else None


class _Numbers:
    """The ``numbers`` of a body: each one's field found in the organization and its values
    checked before anything is written."""

    def __init__(self, organization, items: list[dict]) -> None:
        self.organization = organization
        self.items = items
        self.fields: list[PhoneField | None] = [
            sync.phone_field_find(organization=organization, key=item.get("field"))
            for item in items
        ]

    def errors(self) -> list | None:
        def check(pair) -> dict:
            item, field = pair
            if field is None:
                return {"field": [f"No phone field called {item.get('field')} in the template."]}
            return sync.number_clean(organization=self.organization, field=field, data=item).errors

        return _list_errors(list(zip(self.items, self.fields, strict=True)), check)

    def missing_required(self) -> list[str]:
        given = {
            f.pk for f, i in zip(self.fields, self.items, strict=True) if f and i.get("number")
        }
        required = PhoneField.objects.for_org(self.organization).filter(required=True)
        return [f"{f.label} is required." for f in required if f.pk not in given]

    def write(self, family: Family, request: Request) -> bool:
        actor, label = _actor(request)
        changed = False
        for item, field in zip(self.items, self.fields, strict=True):
            put = sync.number_put(
                family=family, field=field, data=item, actor=actor, source="api", actor_label=label
            )
            changed = changed or put.changed
        return changed


def _family_errors(organization, data: dict, *, creating: bool) -> dict:
    errors: dict[str, Any] = dict(sync.family_clean(organization=organization, data=data).errors)
    if creating and not str(data.get("name", "")).strip():
        errors.setdefault("name", ["This field is required."])

    def member(cleaner) -> Callable[[dict], dict]:
        def check(item: dict) -> dict:
            found = dict(cleaner(item).errors)
            if not str(item.get("external_id", "")).strip():
                found["external_id"] = ["Give each one an external id, so a sync finds it again."]
            return found

        return check

    guardians = _list_errors(
        data.get("guardians", []), member(lambda d: sync.guardian_clean(data=d))
    )
    students = _list_errors(
        data.get("students", []),
        member(lambda d: sync.student_clean(organization=organization, data=d)),
    )
    for name, found in (("guardians", guardians), ("students", students)):
        if found:
            errors[name] = found
    return errors


def _family_write(request: Request, family_or_eid: Family | str, data: dict) -> Response:
    """Create (an external id with no family yet) or update a family and its members, all in
    one transaction: any refusal leaves everything as it was."""
    organization = request._request.organization
    existing = family_or_eid if isinstance(family_or_eid, Family) else None
    if existing is None and family_or_eid:  # "" is a new family without an external id
        existing = Family.objects.for_org(organization).filter(external_id=family_or_eid).first()
    creating = existing is None
    numbers = _Numbers(organization, data.get("numbers", []))
    errors = _family_errors(organization, data, creating=creating)
    number_errors = numbers.errors()
    if number_errors:
        errors["numbers"] = number_errors
    elif creating and numbers.missing_required():
        errors["numbers"] = numbers.missing_required()
    if errors:
        return _bad(errors)
    scalars = {k: v for k, v in data.items() if k in ("name", "status", "location", "notes")}
    if "external_id" in data and existing is not None and not existing.external_id:
        scalars["external_id"] = data["external_id"]  # a family made on the pages gets one
    try:
        with transaction.atomic():
            family, changed, created = _family_save(organization, existing, family_or_eid, scalars)
            for item in data.get("guardians", []):
                put = sync.guardian_upsert(
                    family=family, external_id=item["external_id"], data=item
                )
                changed = changed or put.changed
            for item in data.get("students", []):
                put = sync.student_upsert(family=family, external_id=item["external_id"], data=item)
                changed = changed or put.changed
            changed = numbers.write(family, request) or changed
    except ValidationError as exc:
        return _bad(_errors_of(exc))
    result = "created" if created else ("updated" if changed else "unchanged")
    return _family_answer(request, family, result)


def _family_save(organization, existing: Family | None, family_or_eid, scalars: dict):
    if existing is not None and existing.external_id:
        put = sync.family_upsert(
            organization=organization, external_id=existing.external_id, data=scalars
        )
        return put.row, put.changed, put.created
    if existing is not None:  # made on the pages, without an external id: by id
        put = sync.family_upsert_by_row(family=existing, data=scalars)
        return put.row, put.changed, False
    eid = family_or_eid if isinstance(family_or_eid, str) else ""
    if eid:
        put = sync.family_upsert(organization=organization, external_id=eid, data=scalars)
    else:
        put = sync.family_create_new(organization=organization, data=scalars)
    return put.row, put.changed, put.created


def _get_family(request: Request, kwargs: dict) -> Family:
    organization = request._request.organization
    families = Family.objects.for_org(organization)
    if "external_id" in kwargs:
        found = families.filter(external_id=kwargs["external_id"]).first()
    else:
        found = families.filter(pk=kwargs["pk"]).first()
    if found is None:
        raise Http404("No such family in your organization.")
    return found


def _get_member(model: type[Model], request: Request, kwargs: dict):
    rows = model.objects.for_org(request._request.organization)
    if "external_id" in kwargs:
        found = rows.filter(external_id=kwargs["external_id"]).first()
    else:
        found = rows.filter(pk=kwargs["pk"]).first()
    if found is None:
        raise Http404(f"No such {model._meta.verbose_name} in your organization.")
    return found


EXTERNAL_ID = OpenApiParameter(
    "external_id", str, OpenApiParameter.PATH, description="The row's id in your system."
)


# --- Families ---


class FamilyListCreateAPI(FamilyListAPI):
    """GET: the families list (see FamilyListAPI). POST: a new family."""

    api_key_scopes = {"POST": APIKey.Scope.WRITE}

    @extend_schema(
        tags=["directory: write"],
        summary="Create a family (with guardians, students and numbers)",
        request=FamilyCreateSerializer,
        responses={201: FamilyResultSerializer},
    )
    def post(self, request: Request) -> Response:
        data = _body(request, FamilyCreateSerializer)
        eid = str(data.pop("external_id", "") or "").strip()
        if eid:
            taken = Family.objects.for_org(request._request.organization).filter(external_id=eid)
            if taken.exists():
                return _bad({"external_id": [f"There is already a family with external id {eid}."]})
            eid_ok, problems = sync.external_id_clean(eid)
            if problems:
                return _bad({"external_id": problems})
            return _family_write(request, eid_ok, data)
        return _family_write(request, "", data)


class _FamilyDetail(APIView):
    api_key_scopes = WRITE

    def get(self, request: Request, **kwargs) -> Response:
        return _family_answer(request, _get_family(request, kwargs), None)

    def delete(self, request: Request, **kwargs) -> Response:
        put = sync.family_deactivate(family=_get_family(request, kwargs))
        return _family_answer(request, put.row, put.result)


_FAMILY_DOC = (
    "Keys left out keep their values; guardians, students and numbers not named are left "
    "alone. Texts turn on only with consent_basis (recorded as a consent event, source api)."
)


@extend_schema(tags=["directory: write"], parameters=[EXTERNAL_ID])
class FamilyByExternalIdAPI(_FamilyDetail):
    @extend_schema(summary="A family by its external id", responses={200: FamilyOutSerializer})
    def get(self, request: Request, **kwargs) -> Response:
        return super().get(request, **kwargs)

    @extend_schema(
        summary="Create or update a family by its external id (the sync's upsert)",
        description=_FAMILY_DOC,
        request=FamilyWriteSerializer,
        responses={200: FamilyResultSerializer, 201: FamilyResultSerializer},
    )
    def put(self, request: Request, external_id: str) -> Response:
        eid, problems = sync.external_id_clean(external_id)
        if problems:
            return _bad({"external_id": problems})
        return _family_write(request, eid, _body(request, FamilyWriteSerializer))

    @extend_schema(
        summary="Deactivate a family (status inactive; kept with its history)",
        responses={200: FamilyResultSerializer},
    )
    def delete(self, request: Request, **kwargs) -> Response:
        return super().delete(request, **kwargs)


@extend_schema(tags=["directory: write"])
class FamilyByIdAPI(_FamilyDetail):
    @extend_schema(summary="A family by id", responses={200: FamilyOutSerializer})
    def get(self, request: Request, **kwargs) -> Response:
        return super().get(request, **kwargs)

    @extend_schema(
        summary="Update a family by id",
        description=_FAMILY_DOC,
        request=FamilyCreateSerializer,
        responses={200: FamilyResultSerializer},
    )
    def patch(self, request: Request, pk: int) -> Response:
        family = _get_family(request, {"pk": pk})
        return _family_write(request, family, _body(request, FamilyCreateSerializer))

    @extend_schema(
        summary="Deactivate a family (status inactive; kept with its history)",
        responses={200: FamilyResultSerializer},
    )
    def delete(self, request: Request, **kwargs) -> Response:
        return super().delete(request, **kwargs)


# --- A family's number in one template field ---


FIELD = OpenApiParameter(
    "field", str, OpenApiParameter.PATH, description="A Family Template field: label or id."
)


class _FamilyNumber(APIView):
    api_key_scopes = WRITE

    def _field(self, request: Request, key: str) -> PhoneField:
        field = sync.phone_field_find(organization=request._request.organization, key=key)
        if field is None:
            raise Http404("No such phone field in your Family Template.")
        return field

    def put(self, request: Request, field: str, **kwargs) -> Response:
        family = _get_family(request, kwargs)
        template_field = self._field(request, field)
        data = _body(request, NumberWriteSerializer)
        actor, label = _actor(request)
        try:
            put = sync.number_put(
                family=family,
                field=template_field,
                data=data,
                actor=actor,
                source=ConsentEvent.Source.API,
                actor_label=label,
            )
        except ValidationError as exc:
            return _bad(_errors_of(exc))
        if not isinstance(put.row, PhoneNumber):
            return Response(status=status.HTTP_204_NO_CONTENT)
        context = {"stopped": _stopped(family.organization, [put.row])}
        body = NumberOutSerializer(put.row, context=context).data
        code = status.HTTP_201_CREATED if put.created else status.HTTP_200_OK
        return Response({"result": put.result, **body}, status=code)

    def delete(self, request: Request, field: str, **kwargs) -> Response:
        family = _get_family(request, kwargs)
        template_field = self._field(request, field)
        actor, label = _actor(request)
        try:
            sync.number_put(
                family=family,
                field=template_field,
                data={"number": ""},
                actor=actor,
                source=ConsentEvent.Source.API,
                actor_label=label,
            )
        except ValidationError as exc:
            return _bad(_errors_of(exc))
        return Response(status=status.HTTP_204_NO_CONTENT)


_NUMBER_PUT = extend_schema(
    summary="Set a family's number in one template field",
    description="Empty number removes it. New digits are a new number with no consent. "
    "texts: true needs consent_basis. 204 when the answer has no number (removed or none).",
    request=NumberWriteSerializer,
    responses={200: NumberResultSerializer, 201: NumberResultSerializer, 204: None},
)
_NUMBER_DELETE = extend_schema(
    summary="Remove a family's number in one template field", responses={204: None}
)


@extend_schema(tags=["directory: write"], parameters=[EXTERNAL_ID, FIELD])
class FamilyNumberByExternalIdAPI(_FamilyNumber):
    put = _NUMBER_PUT(_FamilyNumber.put)
    delete = _NUMBER_DELETE(_FamilyNumber.delete)


@extend_schema(tags=["directory: write"], parameters=[FIELD])
class FamilyNumberByIdAPI(_FamilyNumber):
    put = _NUMBER_PUT(_FamilyNumber.put)
    delete = _NUMBER_DELETE(_FamilyNumber.delete)


# --- Guardians and students ---


def _member_family(request: Request, data: dict, current: Family | None) -> Family:
    """The family a guardian or student goes in: by id or external id, in the organization."""
    if data.get("family") is not None:
        return _get_family_or_400(request, {"pk": data["family"]}, "family")
    eid = str(data.get("family_external_id", "") or "").strip()
    if eid:
        return _get_family_or_400(request, {"external_id": eid}, "family_external_id")
    if current is None:
        raise ValidationError({"family": ["Give the family's id or family_external_id."]})
    return current


def _get_family_or_400(request: Request, kwargs: dict, name: str) -> Family:
    try:
        return _get_family(request, kwargs)
    except Http404:
        raise ValidationError({name: ["No such family in your organization."]}) from None


class _Member(APIView):
    """Shared by guardians and students: by id or by external id."""

    api_key_scopes = WRITE
    model: type[Guardian] | type[Student]
    body: type[serializers.Serializer]
    out: type[serializers.Serializer]

    def _clean(self, request: Request, data: dict) -> sync.Cleaned:
        raise NotImplementedError

    def _upsert(self, *, family: Family, external_id: str, data: dict) -> sync.Upserted:
        raise NotImplementedError

    def _answer(self, put: sync.Upserted) -> Response:
        code = status.HTTP_201_CREATED if put.created else status.HTTP_200_OK
        return Response({"result": put.result, **self.out(put.row).data}, status=code)

    def get(self, request: Request, **kwargs) -> Response:
        return Response(self.out(_get_member(self.model, request, kwargs)).data)

    def _write(self, request: Request, row, external_id: str) -> Response:
        data = _body(request, self.body)
        errors = dict(self._clean(request, data).errors)
        if errors:
            return _bad(errors)
        try:
            with transaction.atomic():
                family = _member_family(request, data, row.family if row else None)
                if row is not None and not row.external_id:
                    put = self._update_by_row(row=row, family=family, data=data)
                else:
                    put = self._upsert(family=family, external_id=external_id, data=data)
        except ValidationError as exc:
            return _bad(_errors_of(exc))
        return self._answer(put)


class _GuardianAPI(_Member):
    model, body, out = Guardian, GuardianUpsertSerializer, GuardianOutSerializer

    def _clean(self, request, data):
        return sync.guardian_clean(data=data)

    def _upsert(self, *, family, external_id, data):
        return sync.guardian_upsert(family=family, external_id=external_id, data=data)

    def _update_by_row(self, *, row, family, data):
        return sync.member_update_by_row(
            row=row, family=family, cleaned=sync.guardian_clean(data=data)
        )

    def delete(self, request: Request, **kwargs) -> Response:
        guardian_delete(guardian=_get_member(Guardian, request, kwargs))
        return Response(status=status.HTTP_204_NO_CONTENT)


class _StudentAPI(_Member):
    model, body, out = Student, StudentUpsertSerializer, StudentOutSerializer

    def _clean(self, request, data):
        return sync.student_clean(organization=request._request.organization, data=data)

    def _upsert(self, *, family, external_id, data):
        return sync.student_upsert(family=family, external_id=external_id, data=data)

    def _update_by_row(self, *, row, family, data):
        cleaned = sync.student_clean(organization=row.organization, data=data)
        return sync.member_update_by_row(row=row, family=family, cleaned=cleaned)

    def delete(self, request: Request, **kwargs) -> Response:
        put = sync.student_deactivate(student=_get_member(Student, request, kwargs))
        return self._answer(put)


def _member_views(base: type[_Member], noun: str, result: type, deactivate: str):
    by_eid_doc = extend_schema(tags=["directory: write"], parameters=[EXTERNAL_ID])

    @by_eid_doc
    class ByExternalId(base):
        @extend_schema(summary=f"A {noun} by external id", responses={200: base.out})
        def get(self, request: Request, **kwargs) -> Response:
            return super().get(request, **kwargs)

        @extend_schema(
            summary=f"Create or update a {noun} by external id (the sync's upsert)",
            description="family or family_external_id says which family (needed to create); "
            "a row found in another family of yours moves. Keys left out keep their values.",
            request=base.body,
            responses={200: result, 201: result},
        )
        def put(self, request: Request, external_id: str) -> Response:
            eid, problems = sync.external_id_clean(external_id)
            if problems:
                return _bad({"external_id": problems})
            row = self.model.objects.for_org(request._request.organization)
            return self._write(request, row.filter(external_id=eid).first(), eid)

        @extend_schema(summary=deactivate, responses=_delete_responses(base, result))
        def delete(self, request: Request, **kwargs) -> Response:
            return super().delete(request, **kwargs)

    @extend_schema(tags=["directory: write"])
    class ById(base):
        @extend_schema(summary=f"A {noun} by id", responses={200: base.out})
        def get(self, request: Request, **kwargs) -> Response:
            return super().get(request, **kwargs)

        @extend_schema(
            summary=f"Update a {noun} by id",
            request=base.body,
            responses={200: result},
        )
        def patch(self, request: Request, pk: int) -> Response:
            row = _get_member(self.model, request, {"pk": pk})
            return self._write(request, row, row.external_id)

        @extend_schema(summary=deactivate, responses=_delete_responses(base, result))
        def delete(self, request: Request, **kwargs) -> Response:
            return super().delete(request, **kwargs)

    ByExternalId.__name__ = f"{noun.title()}ByExternalIdAPI"
    ById.__name__ = f"{noun.title()}ByIdAPI"
    return ByExternalId, ById


def _delete_responses(base: type[_Member], result: type) -> dict:
    return {204: None} if base is _GuardianAPI else {200: result}


GuardianByExternalIdAPI, GuardianByIdAPI = _member_views(
    _GuardianAPI, "guardian", GuardianResultSerializer, "Remove a guardian"
)
StudentByExternalIdAPI, StudentByIdAPI = _member_views(
    _StudentAPI, "student", StudentResultSerializer, "Deactivate a student (status inactive)"
)


class _MemberCreate:
    """POST on a list: a new guardian or student in the family the body names."""

    api_key_scopes = {"POST": APIKey.Scope.WRITE}
    member: type[_Member]

    def post(self, request: Request) -> Response:
        handler = self.member()
        handler.request = request
        data = _body(request, self.member.body)
        eid = str(data.get("external_id", "") or "").strip()
        model = self.member.model
        rows = model.objects.for_org(request._request.organization)
        if eid and rows.filter(external_id=eid).exists():
            noun = model._meta.verbose_name
            return _bad({"external_id": [f"There is already a {noun} with external id {eid}."]})
        errors = dict(handler._clean(request, data).errors)
        if errors:
            return _bad(errors)
        try:
            with transaction.atomic():
                family = _member_family(request, data, None)
                put = sync.member_create(
                    model=model, family=family, cleaned=handler._clean(request, data)
                )
        except ValidationError as exc:
            return _bad(_errors_of(exc))
        return handler._answer(put)


class GuardianCreateAPI(_MemberCreate, APIView):
    member = _GuardianAPI

    @extend_schema(
        tags=["directory: write"],
        summary="Create a guardian in a family",
        request=GuardianUpsertSerializer,
        responses={201: GuardianResultSerializer},
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


class StudentListCreateAPI(_MemberCreate, StudentListAPI):
    """GET: the students list (see StudentListAPI). POST: a new student."""

    member = _StudentAPI

    @extend_schema(
        tags=["directory: write"],
        summary="Create a student in a family",
        request=StudentUpsertSerializer,
        responses={201: StudentResultSerializer},
    )
    def post(self, request: Request) -> Response:
        return super().post(request)
