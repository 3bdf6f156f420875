"""Building StreamEvents messages from plain values, and reading their results."""

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from google.protobuf import struct_pb2

from heap_destination.v1 import account_pb2, config_pb2, identify_pb2, stream_pb2, track_pb2


def track_event(
    event_id: str,
    event: str,
    *,
    user_id: str = "",
    anonymous_id: str = "",
    properties: Mapping[str, Any] | None = None,
    traits: Mapping[str, Any] | None = None,
    message_id: str = "",
) -> stream_pb2.Event:
    """A streamed track event; `message_id` defaults to the event id."""
    return stream_pb2.Event(
        id=event_id,
        track=track_pb2.TrackEventRequest(
            user_id=user_id,
            anonymous_id=anonymous_id,
            event=event,
            properties=to_struct(properties),
            traits=to_struct(traits),
            message_id=message_id or event_id,
        ),
    )


def identify_event(
    event_id: str,
    *,
    user_id: str = "",
    anonymous_id: str = "",
    traits: Mapping[str, Any] | None = None,
    heap_user_id: str = "",
) -> stream_pb2.Event:
    """A streamed identify event."""
    return stream_pb2.Event(
        id=event_id,
        identify=identify_pb2.IdentifyUserRequest(
            user_id=user_id,
            anonymous_id=anonymous_id,
            traits=to_struct(traits),
            heap_user_id=heap_user_id,
            message_id=event_id,
        ),
    )


def account_event(
    event_id: str, *, account_id: str, properties: Mapping[str, Any]
) -> stream_pb2.Event:
    """A streamed account update."""
    return stream_pb2.Event(
        id=event_id,
        account=account_pb2.UpdateAccountRequest(
            account_id=account_id, properties=to_struct(properties), message_id=event_id
        ),
    )


def in_messages(
    events: Iterable[stream_pb2.Event],
    per_message: int = 500,
    config: config_pb2.DestinationConfig | None = None,
) -> Iterator[stream_pb2.StreamEventsRequest]:
    """Groups events into stream messages; the first message carries `config`."""
    batch: list[stream_pb2.Event] = []
    first = True
    for event in events:
        batch.append(event)
        if len(batch) == per_message:
            yield _message(batch, config if first else None)
            batch, first = [], False
    if batch or first:
        yield _message(batch, config if first else None)


def to_struct(values: Mapping[str, Any] | None) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    if values:
        struct.update(values)
    return struct


def _message(
    events: list[stream_pb2.Event], config: config_pb2.DestinationConfig | None
) -> stream_pb2.StreamEventsRequest:
    message = stream_pb2.StreamEventsRequest(events=events)
    if config is not None:
        message.config.CopyFrom(config)
    return message
