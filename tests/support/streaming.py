"""Driving StreamEvents through a real channel, as a producer would."""

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import grpc
from google.protobuf import struct_pb2

from heap_destination.v1 import config_pb2, service_pb2_grpc, stream_pb2, track_pb2


def track_event(
    event_id: str, user_id: str, properties: dict[str, Any] | None = None, name: str = "Signed Up"
) -> stream_pb2.Event:
    struct = struct_pb2.Struct()
    struct.update(properties or {})
    return stream_pb2.Event(
        id=event_id,
        track=track_pb2.TrackEventRequest(
            user_id=user_id, event=name, properties=struct, message_id=f"msg-{event_id}"
        ),
    )


def in_messages(
    events: Iterable[stream_pb2.Event], per_message: int, app_id: str
) -> Iterator[stream_pb2.StreamEventsRequest]:
    """Events in messages of `per_message`; the first message names the destination."""
    batch: list[stream_pb2.Event] = []
    first = True
    for event in events:
        batch.append(event)
        if len(batch) == per_message:
            yield _message(batch, app_id if first else None)
            batch, first = [], False
    if batch:
        yield _message(batch, app_id if first else None)


def _message(events: list[stream_pb2.Event], app_id: str | None) -> stream_pb2.StreamEventsRequest:
    message = stream_pb2.StreamEventsRequest(events=events)
    if app_id is not None:
        message.config.CopyFrom(config_pb2.DestinationConfig(app_id=app_id))
    return message


def stream(
    target: str,
    requests: Iterable[stream_pb2.StreamEventsRequest],
    timeout: float = 120,
    on_first_response: Callable[[], None] | None = None,
) -> list[stream_pb2.EventResult]:
    """Sends the requests over one StreamEvents call; returns every result received."""
    results: list[stream_pb2.EventResult] = []
    with grpc.insecure_channel(target) as channel:
        stub = service_pb2_grpc.HeapDestinationServiceStub(channel)
        for response in stub.StreamEvents(iter(requests), timeout=timeout):
            if not results and on_first_response is not None:
                on_first_response()
            results.extend(response.results)
    return results
