"""The batching sender: the client's calls queued and sent over one StreamEvents call.

Each call returns a concurrent.futures.Future at once, settled with the event's
EventResult when the service answers OK, or failed with the EventError (a grpc.RpcError
that error_details() reads) a unary call would have raised. Events are sent in the
order they were queued, in messages of up to max_batch events, each sent once it is
full or its first event waited max_delay seconds.
"""

import itertools
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from datetime import datetime
from types import TracebackType
from typing import Any

from heap_destination.client.event_errors import SenderClosed
from heap_destination.client.requests import account_request, identify_request, track_request
from heap_destination.client.sender_capacity import Capacity
from heap_destination.client.sender_stream import (
    Batching,
    Queued,
    SenderStream,
    on_a_reader_thread,
)
from heap_destination.v1 import (
    account_pb2,
    config_pb2,
    identify_pb2,
    service_pb2_grpc,
    stream_pb2,
    track_pb2,
)

# The id, the oneof's tag and lengths: the most an event's framing adds to its request.
_EVENT_FRAMING_BYTES = 32


class Sender:
    """Made by HeapDestinationClient.sender(); use it as a context manager, or close() it."""

    def __init__(
        self,
        stub: service_pb2_grpc.HeapDestinationServiceStub,
        metadata: tuple[tuple[str, str], ...],
        config: config_pb2.DestinationConfig,
        batching: Batching,
        capacity: Capacity,
        send_timeout: float | None,
    ) -> None:
        self._stub = stub
        self._metadata = metadata
        self._config = config
        self._batching = batching
        self._capacity = capacity
        self._send_timeout = send_timeout
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._stream: SenderStream | None = None
        self._closed = False

    def track(
        self,
        event: str,
        *,
        user_id: str = "",
        anonymous_id: str = "",
        properties: Mapping[str, Any] | None = None,
        traits: Mapping[str, Any] | None = None,
        timestamp: datetime | None = None,
        message_id: str = "",
        session_id: str = "",
    ) -> "Future[stream_pb2.EventResult]":
        request = track_request(
            track_pb2.EVENT_TYPE_TRACK,
            event=event,
            user_id=user_id,
            anonymous_id=anonymous_id,
            properties=properties,
            traits=traits,
            timestamp=timestamp,
            message_id=message_id,
            session_id=session_id,
        )
        return self._send(track=request)

    def page(
        self,
        name: str = "",
        *,
        user_id: str = "",
        anonymous_id: str = "",
        properties: Mapping[str, Any] | None = None,
        timestamp: datetime | None = None,
        message_id: str = "",
    ) -> "Future[stream_pb2.EventResult]":
        request = track_request(
            track_pb2.EVENT_TYPE_PAGE,
            name=name,
            user_id=user_id,
            anonymous_id=anonymous_id,
            properties=properties,
            timestamp=timestamp,
            message_id=message_id,
        )
        return self._send(track=request)

    def screen(
        self,
        name: str = "",
        *,
        user_id: str = "",
        anonymous_id: str = "",
        properties: Mapping[str, Any] | None = None,
        timestamp: datetime | None = None,
        message_id: str = "",
    ) -> "Future[stream_pb2.EventResult]":
        request = track_request(
            track_pb2.EVENT_TYPE_SCREEN,
            name=name,
            user_id=user_id,
            anonymous_id=anonymous_id,
            properties=properties,
            timestamp=timestamp,
            message_id=message_id,
        )
        return self._send(track=request)

    def identify(
        self,
        *,
        user_id: str = "",
        anonymous_id: str = "",
        traits: Mapping[str, Any] | None = None,
        heap_user_id: str = "",
        timestamp: datetime | None = None,
        message_id: str = "",
    ) -> "Future[stream_pb2.EventResult]":
        request = identify_request(
            user_id=user_id,
            anonymous_id=anonymous_id,
            traits=traits,
            heap_user_id=heap_user_id,
            timestamp=timestamp,
            message_id=message_id,
        )
        return self._send(identify=request)

    def update_account(
        self,
        *,
        account_id: str,
        properties: Mapping[str, Any],
        message_id: str = "",
    ) -> "Future[stream_pb2.EventResult]":
        request = account_request(
            account_id=account_id, properties=properties, message_id=message_id
        )
        return self._send(account=request)

    def close(self, timeout: float | None = None) -> None:
        """Sends every queued event and waits for all their results. Past `timeout`
        seconds, the events still without one fail with DEADLINE_EXCEEDED. Later
        calls raise SenderClosed."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            stream = self._stream
        if stream is not None:
            stream.finish(timeout)

    def __enter__(self) -> "Sender":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _send(
        self,
        *,
        track: track_pb2.TrackEventRequest | None = None,
        identify: identify_pb2.IdentifyUserRequest | None = None,
        account: account_pb2.UpdateAccountRequest | None = None,
    ) -> "Future[stream_pb2.EventResult]":
        if self._closed:
            raise SenderClosed("the sender is closed")
        event = stream_pb2.Event(track=track, identify=identify, account=account)
        size = event.ByteSize() + _EVENT_FRAMING_BYTES
        # A callback waiting for room would hold up the results that free it.
        self._capacity.take(size, 0 if on_a_reader_thread() else self._send_timeout)
        future: Future[stream_pb2.EventResult] = Future()
        future.set_running_or_notify_cancel()  # queued events cannot be taken back
        with self._lock:
            if self._closed:
                self._capacity.give_back(size)
                raise SenderClosed("the sender is closed")
            event.id = str(next(self._ids))
            queued = Queued(event, size, future)
            while self._stream is None or not self._stream.put(queued):
                self._stream = SenderStream(
                    self._stub, self._metadata, self._config, self._batching, self._capacity
                )
        return future
