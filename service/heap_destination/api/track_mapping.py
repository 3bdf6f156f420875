"""TrackEvent messages to the domain's Track call and back."""

from datetime import UTC

from google.protobuf import timestamp_pb2

from heap_destination.api.struct_values import flat_to_struct, struct_to_dict
from heap_destination.api.warning_mapping import warnings_to_proto
from heap_destination.domain.destination import Destination
from heap_destination.domain.track import EventType, PreparedTrack, TrackInput
from heap_destination.v1 import track_pb2

_EVENT_TYPES = {
    track_pb2.EVENT_TYPE_UNSPECIFIED: EventType.TRACK,
    track_pb2.EVENT_TYPE_TRACK: EventType.TRACK,
    track_pb2.EVENT_TYPE_PAGE: EventType.PAGE,
    track_pb2.EVENT_TYPE_SCREEN: EventType.SCREEN,
}


def track_input(request: track_pb2.TrackEventRequest) -> TrackInput:
    return TrackInput(
        user_id=request.user_id,
        anonymous_id=request.anonymous_id,
        event=request.event,
        type=_EVENT_TYPES.get(request.type, EventType.TRACK),
        name=request.name,
        properties=struct_to_dict(request.properties),
        traits=struct_to_dict(request.traits),
        timestamp=request.timestamp.ToDatetime(tzinfo=UTC)
        if request.HasField("timestamp")
        else None,
        message_id=request.message_id,
        session_id=request.session_id,
    )


def track_response(destination: Destination, track: PreparedTrack) -> track_pb2.TrackEventResponse:
    response = track_pb2.TrackEventResponse(
        app_id=destination.app_id,
        identity=track.event.identity,
        event=track.event.event,
        properties=flat_to_struct(track.event.properties),
        idempotency_key=track.event.idempotency_key,
        warnings=warnings_to_proto(track.warnings),
    )
    if track.user_properties is not None:
        response.user_properties.CopyFrom(flat_to_struct(track.user_properties.properties))
    if track.event.timestamp is not None:
        timestamp = timestamp_pb2.Timestamp()
        timestamp.FromDatetime(track.event.timestamp)
        response.timestamp.CopyFrom(timestamp)
    return response
