"""The conversations API under /api/v1/conversations/: the list (the messenger's filters),
one thread, a reply, a status move. Reading needs "view text logs", replying "send texts"
too. Reading a thread through the API changes nothing (a GET); a client marks it read with
a status move to "open". An API key reads with the read scope and replies or moves a status
with the send scope. Another organization's ids are 404.
"""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.generics import ListAPIView, get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from broadcasts.api import BroadcastSerializer
from broadcasts.conversations import selectors, services
from broadcasts.conversations.models import Conversation
from broadcasts.recipients import BroadcastRefused
from smsvoice.api_keys import key_scopes
from smsvoice.permissions import CanSendTexts, CanViewTextLogs


class OwnerSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["family", "staff"])
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    label = serializers.CharField()


class ConversationSerializer(serializers.ModelSerializer):
    owners = serializers.SerializerMethodField()
    assignee = serializers.SerializerMethodField()

    class Meta:
        model = Conversation
        fields = [
            "id",
            "e164",
            "status",
            "unread_count",
            "last_text",
            "last_activity_at",
            "last_inbound_at",
            "assignee",
            "owners",
            "created_at",
        ]

    @extend_schema_field(OwnerSerializer(many=True))
    def get_owners(self, conversation: Conversation) -> list[dict]:
        owners = self.context.get("owners", {}).get(conversation.e164)
        if owners is None:
            owners = selectors.owners_by_number(
                organization=conversation.organization, e164s=[conversation.e164]
            )[conversation.e164]
        return OwnerSerializer(owners, many=True).data

    def get_assignee(self, conversation: Conversation) -> str | None:
        return conversation.assignee.full_name if conversation.assignee else None


class EntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    direction = serializers.ChoiceField(choices=["in", "out"])
    text = serializers.CharField()
    who = serializers.CharField()
    keyword = serializers.CharField(help_text="STOP, START or HELP when the text was one")
    answer = serializers.CharField(help_text="What the app answered the keyword")
    status = serializers.CharField(help_text="Outbound: the message's status")
    status_label = serializers.CharField()
    broadcast_id = serializers.IntegerField(allow_null=True)
    is_reply = serializers.BooleanField()
    channel = serializers.CharField()


class ThreadSerializer(serializers.Serializer):
    conversation = ConversationSerializer()
    entries = EntrySerializer(many=True)
    reply_refusal = serializers.CharField(help_text="Why a reply would be refused, or empty")


class ReplySerializer(serializers.Serializer):
    text = serializers.CharField(max_length=2000, trim_whitespace=False)
    omit_header_footer = serializers.BooleanField(
        default=False,
        help_text="Leave out the organization's header and footer (Message options) for this "
        "reply; refused in Canada and Australia, where the law needs them.",
    )


class StatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Conversation.Status.choices)


def _conversation(request: Request, pk: int) -> Conversation:
    found = Conversation.objects.for_org(request._request.organization).select_related(
        "organization", "assignee"
    )
    return get_object_or_404(found, pk=pk)


FILTERS = [
    OpenApiParameter("status", enum=Conversation.Status.values, required=False),
    OpenApiParameter("kind", enum=list(selectors.KINDS), required=False),
    OpenApiParameter("mine", bool, required=False, description="Assigned to me"),
    OpenApiParameter("unread", bool, required=False, description="Has unread texts"),
    OpenApiParameter("q", str, required=False, description="Name or part of the number"),
]


@extend_schema(parameters=FILTERS)
class ConversationList(ListAPIView):
    """This organization's conversations, last activity first."""

    serializer_class = ConversationSerializer
    permission_classes = [CanViewTextLogs]
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no organization
            return Conversation.objects.none()
        request = self.request._request
        return selectors.conversations_matching(
            organization=request.organization,
            staff_member=request.staff_member,
            filters=selectors.Filters.from_query(self.request.query_params),
        ).select_related("organization")

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        page = getattr(self, "_page", None)
        if page is not None:
            context["owners"] = selectors.owners_by_number(
                organization=self.request._request.organization, e164s=[c.e164 for c in page]
            )
        return context

    def paginate_queryset(self, queryset):
        self._page = super().paginate_queryset(queryset)
        return self._page


@extend_schema(responses={200: ThreadSerializer})
@api_view(["GET"])
@permission_classes([CanViewTextLogs])
def conversation_thread(request: Request, pk: int) -> Response:
    """One conversation and its timeline (broadcasts and replies sent, texts received)."""
    conversation = _conversation(request, pk)
    thread = selectors.thread(conversation=conversation)
    refusal = selectors.reply_refusal(
        conversation=conversation, staff_member=request._request.staff_member
    )
    body = {
        "conversation": ConversationSerializer(conversation).data,
        "entries": EntrySerializer(thread.entries, many=True).data,
        "reply_refusal": refusal,
    }
    return Response(body)


@extend_schema(
    request=ReplySerializer,
    responses={
        201: BroadcastSerializer,
        400: OpenApiResponse(description="Refused, with the reason (STOP, consent, credits…)"),
    },
)
@key_scopes(POST="send")  # an API key needs the send scope
@api_view(["POST"])
@permission_classes([CanViewTextLogs, CanSendTexts])
def conversation_reply(request: Request, pk: int) -> Response:
    """Reply to the number: a broadcast of one, debited now and refunded if not sent."""
    conversation = _conversation(request, pk)
    serializer = ReplySerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    try:
        broadcast = services.conversation_reply(
            conversation=conversation,
            sender=request._request.staff_member,
            text=serializer.validated_data["text"],
            omit_header_footer=serializer.validated_data["omit_header_footer"],
        )
    except BroadcastRefused as refused:
        return Response({"detail": str(refused)}, status=status.HTTP_400_BAD_REQUEST)
    return Response(BroadcastSerializer(broadcast).data, status=status.HTTP_201_CREATED)


@extend_schema(
    request=StatusSerializer,
    responses={
        200: ConversationSerializer,
        400: OpenApiResponse(description="A move the status diagram does not allow"),
    },
)
@key_scopes(POST="send")  # an API key needs the send scope
@api_view(["POST"])
@permission_classes([CanViewTextLogs])
def conversation_status(request: Request, pk: int) -> Response:
    """Move the status: unread → open (read) → closed; closed → open (reopen); open → unread."""
    conversation = _conversation(request, pk)
    serializer = StatusSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    try:
        conversation = services.conversation_move(
            conversation=conversation,
            to=serializer.validated_data["status"],
            by=request._request.staff_member,
        )
    except services.MoveRefused as refused:
        return Response({"detail": str(refused)}, status=status.HTTP_400_BAD_REQUEST)
    return Response(ConversationSerializer(conversation).data)
