"""The call requests built from plain values, shared by the unary calls and the sender."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from google.protobuf import timestamp_pb2

from heap_destination.client.streaming import to_struct
from heap_destination.v1 import account_pb2, identify_pb2, track_pb2


def track_request(
    event_type: track_pb2.EventType.ValueType,
    *,
    event: str = "",
    name: str = "",
    user_id: str,
    anonymous_id: str,
    properties: Mapping[str, Any] | None,
    traits: Mapping[str, Any] | None = None,
    timestamp: datetime | None,
    message_id: str,
    session_id: str = "",
) -> track_pb2.TrackEventRequest:
    request = track_pb2.TrackEventRequest(
        type=event_type,
        event=event,
        name=name,
        user_id=user_id,
        anonymous_id=anonymous_id,
        properties=to_struct(properties),
        traits=to_struct(traits),
        message_id=message_id,
        session_id=session_id,
    )
    if timestamp is not None:
        request.timestamp.CopyFrom(_timestamp(timestamp))
    return request


def identify_request(
    *,
    user_id: str,
    anonymous_id: str,
    traits: Mapping[str, Any] | None,
    heap_user_id: str,
    timestamp: datetime | None,
    message_id: str,
) -> identify_pb2.IdentifyUserRequest:
    request = identify_pb2.IdentifyUserRequest(
        user_id=user_id,
        anonymous_id=anonymous_id,
        traits=to_struct(traits),
        heap_user_id=heap_user_id,
        message_id=message_id,
    )
    if timestamp is not None:
        request.timestamp.CopyFrom(_timestamp(timestamp))
    return request


def account_request(
    *, account_id: str, properties: Mapping[str, Any], message_id: str
) -> account_pb2.UpdateAccountRequest:
    return account_pb2.UpdateAccountRequest(
        account_id=account_id, properties=to_struct(properties), message_id=message_id
    )


def _timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    timestamp = timestamp_pb2.Timestamp()
    timestamp.FromDatetime(moment)
    return timestamp
