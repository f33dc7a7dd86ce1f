"""The broadcasts API: the compose window's preview as JSON, sending, and progress."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from broadcasts.models import Broadcast
from broadcasts.recipients import BroadcastRefused
from broadcasts.selectors import broadcast_progress
from broadcasts.sms import compose
from families.api import SelectionSerializer
from families.selection import Selection, SelectionError
from smsvoice.permissions import CanSendTexts, ReadsOrSendsTexts


@extend_schema_field(SelectionSerializer)
class SelectionField(serializers.JSONField):
    def to_internal_value(self, data):
        try:
            return Selection.from_dict(data)
        except SelectionError as error:
            raise serializers.ValidationError(str(error)) from None


class ComposeSerializer(serializers.Serializer):
    selection = SelectionField(
        help_text='{"kind": "families", "ids": [1, 2], "filter": {"program": "3"}, "exclude": [5]}'
    )
    text = serializers.CharField(allow_blank=True, max_length=5000, trim_whitespace=False)
    omit_header_footer = serializers.BooleanField(
        default=False,
        help_text="Leave out the organization's header and footer (Message options) for this "
        "broadcast; refused in Canada and Australia, where the law needs them.",
    )


class BroadcastSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Broadcast
        fields = [
            "id",
            "channel",
            "status",
            "text",
            "encoding",
            "max_parts",
            "sender_label",
            "from_e164",
            "recipient_count",
            "excluded_count",
            "credits_debited",
            "created_at",
            "started_at",
            "finished_at",
            "progress",
        ]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_progress(self, broadcast: Broadcast) -> dict:
        return broadcast_progress(broadcast=broadcast)


@extend_schema(
    request=ComposeSerializer,
    responses={
        200: OpenApiResponse(
            description="Messages, left-out counts by reason, parts and encoding (of the text "
            "as sent: the header and footer of Message options included), credits needed and "
            "available, problems that would refuse the send, merged samples."
        )
    },
)
@api_view(["POST"])
@permission_classes([CanSendTexts])
def broadcast_preview(request: Request) -> Response:
    data = _valid(request)
    preview = compose.broadcast_preview(
        organization=request._request.organization,
        selection=data["selection"],
        text=data["text"],
        omit_header_footer=data["omit_header_footer"],
    )
    return Response(preview.as_dict())


def _valid(request: Request) -> dict:
    serializer = ComposeSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class BroadcastListCreate(ListAPIView):
    """GET: this organization's broadcasts, newest first. POST: send an SMS broadcast."""

    serializer_class = BroadcastSerializer
    permission_classes = [ReadsOrSendsTexts]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no organization
            return Broadcast.objects.none()
        return Broadcast.objects.for_org(self.request._request.organization)

    @extend_schema(
        request=ComposeSerializer,
        responses={
            201: BroadcastSerializer,
            400: OpenApiResponse(description="Refused, with the reason"),
        },
    )
    def post(self, request: Request) -> Response:
        data = _valid(request)
        try:
            broadcast = compose.broadcast_create(
                organization=request._request.organization,
                sender=request._request.staff_member,
                selection=data["selection"],
                text=data["text"],
                omit_header_footer=data["omit_header_footer"],
            )
        except BroadcastRefused as refused:
            return Response({"detail": str(refused)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(BroadcastSerializer(broadcast).data, status=status.HTTP_201_CREATED)


class BroadcastDetail(RetrieveAPIView):
    serializer_class = BroadcastSerializer
    permission_classes = [ReadsOrSendsTexts]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no organization
            return Broadcast.objects.none()
        return Broadcast.objects.for_org(self.request._request.organization)
