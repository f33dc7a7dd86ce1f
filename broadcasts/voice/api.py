"""The voice broadcasts API: start a recording call or send a text-to-speech broadcast, follow
the call, and send a recorded broadcast that waited for credits. US and Canada only."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from broadcasts.api import BroadcastSerializer, SelectionField
from broadcasts.models import Broadcast, VoiceRecordingCall
from broadcasts.recipients import BroadcastRefused
from broadcasts.voice import recording as voice_services
from broadcasts.voice.selectors import recording_call_for, recording_call_progress
from smsvoice.permissions import CanSendTexts


class VoiceBroadcastSerializer(serializers.Serializer):
    selection = SelectionField(help_text='{"kind": "families", "ids": [1, 2]}')
    mode = serializers.ChoiceField(
        choices=["record", "tts"],
        help_text="record: we call callback_number to record it; tts: text read out by a voice",
    )
    callback_number = serializers.CharField(required=False, allow_blank=True, max_length=30)
    text = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    voice = serializers.ChoiceField(
        choices=sorted(settings.VOICE_TTS_VOICES), required=False, default=None
    )
    language = serializers.ChoiceField(
        choices=sorted(voice_services.TTS_LANGUAGES), required=False, default=None
    )


class RecordingCallSerializer(serializers.ModelSerializer):
    label = serializers.SerializerMethodField()
    hint = serializers.SerializerMethodField()

    class Meta:
        model = VoiceRecordingCall
        fields = [
            "id",
            "broadcast",
            "purpose",
            "status",
            "label",
            "hint",
            "to_e164",
            "recording_seconds",
            "call_seconds",
            "credits_charged",
            "credits_unpaid",
            "error_message",
            "created_at",
            "ended_at",
        ]

    def get_label(self, call: VoiceRecordingCall) -> str:
        return recording_call_progress(call=call).label

    def get_hint(self, call: VoiceRecordingCall) -> str:
        return recording_call_progress(call=call).hint


def _refused(message: str) -> Response:
    return Response({"detail": message}, status=status.HTTP_400_BAD_REQUEST)


@extend_schema(
    request=VoiceBroadcastSerializer,
    responses={
        201: OpenApiResponse(description="The broadcast, and for mode=record the call to staff"),
        400: OpenApiResponse(description="Refused, with the reason (e.g. not US or Canada)"),
    },
)
@api_view(["POST"])
@permission_classes([CanSendTexts])
def voice_broadcast_create(request: Request) -> Response:
    """Start a voice broadcast: mode=record calls staff to record it (it is sent when they hang
    up); mode=tts creates and sends a text-to-speech broadcast at once."""
    organization = request._request.organization
    refusal = voice_services.voice_refusal(organization=organization)
    if refusal:  # before validating anything else: the answer is no whatever was sent
        return _refused(refusal)
    serializer = VoiceBroadcastSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    sender = request._request.staff_member
    preference = voice_services.voice_preference_for(staff_member=sender)
    try:
        if data["mode"] == "record":
            call = voice_services.recording_call_start(
                organization=organization,
                sender=sender,
                selection=data["selection"],
                callback_number=data.get("callback_number") or preference.callback_e164,
            )
            body = {
                "broadcast": BroadcastSerializer(call.broadcast).data,
                "recording_call": RecordingCallSerializer(call).data,
            }
            return Response(body, status=status.HTTP_201_CREATED)
        broadcast = voice_services.tts_broadcast_create(
            organization=organization,
            sender=sender,
            selection=data["selection"],
            text=data.get("text", ""),
            voice=data.get("voice") or preference.tts_voice,
            language=data.get("language") or preference.tts_language,
        )
    except BroadcastRefused as refused:
        return _refused(str(refused))
    return Response({"broadcast": BroadcastSerializer(broadcast).data}, status=201)


@extend_schema(responses={200: RecordingCallSerializer})
@api_view(["GET"])
@permission_classes([CanSendTexts])
def voice_recording_call(request: Request, pk: int) -> Response:
    """A call to staff and how far it got (calling, waiting_for_hello, recording, recorded…)."""
    call = recording_call_for(organization=request._request.organization, pk=pk)
    if call is None:
        return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
    return Response(RecordingCallSerializer(call).data)


@extend_schema(
    request=None,
    responses={200: BroadcastSerializer, 400: OpenApiResponse(description="Still short")},
)
@api_view(["POST"])
@permission_classes([CanSendTexts])
def voice_broadcast_send_now(request: Request, pk: int) -> Response:
    """Send a recorded broadcast that was waiting for credits."""
    organization = request._request.organization
    broadcast = get_object_or_404(
        Broadcast.objects.for_org(organization), pk=pk, channel=Broadcast.Channel.VOICE
    )
    broadcast = voice_services.voice_broadcast_send(broadcast_id=broadcast.pk, actor=request.user)
    if broadcast.status == Broadcast.Status.WAITING:
        return _refused(broadcast.voice.waiting_reason)
    return Response(BroadcastSerializer(broadcast).data)
