"""TrackEvent messages to the domain's Track call and back."""

from google.protobuf import timestamp_pb2

from heap_destination.api.mapping.config import enum_value
from heap_destination.api.mapping.warnings import unlisted_warnings, warnings_to_proto
from heap_destination.api.structs.properties import StructProperties
from heap_destination.api.structs.struct_writer import struct_wire
from heap_destination.api.structs.values import fits_echo
from heap_destination.api.timestamps import timestamp_value
from heap_destination.domain.destination import Destination
from heap_destination.domain.track import EventType, PreparedTrack, TrackInput
from heap_destination.domain.violations import FieldViolation, raise_if_any
from heap_destination.v1 import track_pb2

_EVENT_TYPES = {
    track_pb2.EVENT_TYPE_TRACK: EventType.TRACK,
    track_pb2.EVENT_TYPE_PAGE: EventType.PAGE,
    track_pb2.EVENT_TYPE_SCREEN: EventType.SCREEN,
}


def track_input(request: track_pb2.TrackEventRequest) -> TrackInput:
    """Raises InvalidInput for a value the domain cannot even be given."""
    violations: list[FieldViolation] = []
    event_type = enum_value(_EVENT_TYPES, request.type, "type", violations)
    timestamp = (
        timestamp_value(request.timestamp, "timestamp", violations)
        if request.HasField("timestamp")
        else None
    )
    raise_if_any(violations)
    return TrackInput(
        user_id=request.user_id,
        anonymous_id=request.anonymous_id,
        event=request.event,
        type=event_type or EventType.TRACK,
        name=request.name,
        properties=StructProperties(request.properties),
        traits=StructProperties(request.traits),
        timestamp=timestamp,
        message_id=request.message_id,
        session_id=request.session_id,
    )


def track_response(destination: Destination, track: PreparedTrack) -> track_pb2.TrackEventResponse:
    response = track_pb2.TrackEventResponse(
        app_id=destination.app_id,
        identity=track.event.identity,
        event=track.event.event,
        idempotency_key=track.event.idempotency_key,
        warnings=warnings_to_proto(track.warnings),
        unlisted_warnings=unlisted_warnings(track.warnings),
    )
    user_properties = track.user_properties.properties if track.user_properties else None
    if fits_echo([track.event.properties, user_properties]):
        response.properties.MergeFromString(struct_wire(track.event.properties))
        if user_properties is not None:
            response.user_properties.MergeFromString(struct_wire(user_properties))
    else:
        response.properties_echo_omitted = True
    if track.event.timestamp is not None:
        timestamp = timestamp_pb2.Timestamp()
        timestamp.FromDatetime(track.event.timestamp)
        response.timestamp.CopyFrom(timestamp)
    return response
