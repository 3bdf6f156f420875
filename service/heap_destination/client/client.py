from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any

import grpc

from heap_destination.client.requests import account_request, identify_request, track_request
from heap_destination.client.sender import Sender
from heap_destination.client.sender_capacity import Capacity
from heap_destination.client.sender_stream import Batching
from heap_destination.v1 import (
    account_pb2,
    config_pb2,
    identify_pb2,
    service_pb2_grpc,
    stream_pb2,
    track_pb2,
)


class HeapDestinationClient:
    """Sends Track, Identify and account calls; properties and traits are plain dicts.

    Every method returns the typed response once Heap accepted the call, and raises
    grpc.RpcError otherwise (see error_details() for the reason and bad fields).
    """

    def __init__(
        self,
        target: str = "127.0.0.1:50051",
        *,
        app_id: str = "",
        config: config_pb2.DestinationConfig | None = None,
        timeout: float = 30.0,
        token: str = "",
        tls_ca: bytes | None = None,
        channel: grpc.Channel | None = None,
    ) -> None:
        """`token` is sent as a bearer token; `tls_ca` (PEM) switches to TLS trusting it.
        A ready `channel` replaces both."""
        if channel is None:
            channel = (
                grpc.secure_channel(target, grpc.ssl_channel_credentials(tls_ca))
                if tls_ca is not None
                else grpc.insecure_channel(target)
            )
        self._channel = channel
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self._stub = service_pb2_grpc.HeapDestinationServiceStub(self._channel)
        self._config = config_pb2.DestinationConfig()
        if config is not None:
            self._config.CopyFrom(config)
        if app_id:
            self._config.app_id = app_id
        self._timeout = timeout

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
    ) -> track_pb2.TrackEventResponse:
        return self._track(
            track_request(
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
        )

    def page(
        self,
        name: str = "",
        *,
        user_id: str = "",
        anonymous_id: str = "",
        properties: Mapping[str, Any] | None = None,
        timestamp: datetime | None = None,
        message_id: str = "",
    ) -> track_pb2.TrackEventResponse:
        return self._track(
            track_request(
                track_pb2.EVENT_TYPE_PAGE,
                name=name,
                user_id=user_id,
                anonymous_id=anonymous_id,
                properties=properties,
                timestamp=timestamp,
                message_id=message_id,
            )
        )

    def screen(
        self,
        name: str = "",
        *,
        user_id: str = "",
        anonymous_id: str = "",
        properties: Mapping[str, Any] | None = None,
        timestamp: datetime | None = None,
        message_id: str = "",
    ) -> track_pb2.TrackEventResponse:
        return self._track(
            track_request(
                track_pb2.EVENT_TYPE_SCREEN,
                name=name,
                user_id=user_id,
                anonymous_id=anonymous_id,
                properties=properties,
                timestamp=timestamp,
                message_id=message_id,
            )
        )

    def identify(
        self,
        *,
        user_id: str = "",
        anonymous_id: str = "",
        traits: Mapping[str, Any] | None = None,
        heap_user_id: str = "",
        timestamp: datetime | None = None,
        message_id: str = "",
    ) -> identify_pb2.IdentifyUserResponse:
        request = identify_request(
            user_id=user_id,
            anonymous_id=anonymous_id,
            traits=traits,
            heap_user_id=heap_user_id,
            timestamp=timestamp,
            message_id=message_id,
        )
        request.config.CopyFrom(self._config)
        response: identify_pb2.IdentifyUserResponse = self._stub.IdentifyUser(
            request, timeout=self._timeout, metadata=self._metadata
        )
        return response

    def update_account(
        self,
        *,
        account_id: str,
        properties: Mapping[str, Any],
        message_id: str = "",
    ) -> account_pb2.UpdateAccountResponse:
        request = account_request(
            account_id=account_id, properties=properties, message_id=message_id
        )
        request.config.CopyFrom(self._config)
        response: account_pb2.UpdateAccountResponse = self._stub.UpdateAccount(
            request, timeout=self._timeout, metadata=self._metadata
        )
        return response

    def stream(
        self, messages: Iterable[stream_pb2.StreamEventsRequest], timeout: float | None = None
    ) -> Iterator[stream_pb2.EventResult]:
        """Sends `messages` over one StreamEvents call and yields each event's result as it
        comes. The client's config applies unless the first message carries its own."""

        def with_config() -> Iterator[stream_pb2.StreamEventsRequest]:
            for index, message in enumerate(messages):
                if index == 0 and not message.HasField("config"):
                    message.config.CopyFrom(self._config)
                yield message

        responses = self._stub.StreamEvents(with_config(), timeout=timeout, metadata=self._metadata)
        for response in responses:
            yield from response.results

    def sender(
        self,
        *,
        max_batch: int = 100,
        max_delay: float = 0.005,
        max_message_bytes: int = 1 << 20,
        max_queued_events: int = 10_000,
        max_queued_bytes: int = 16 << 20,
        send_timeout: float | None = None,
    ) -> Sender:
        """A batching sender: its track, page, screen, identify and update_account queue
        the event and return a Future at once; events go over one StreamEvents call in
        messages of up to `max_batch` events (and `max_message_bytes`), each sent once full
        or `max_delay` seconds after its first event was queued. At most
        `max_queued_events` events (and `max_queued_bytes`) wait for their results; past
        that, a call blocks until results free room, or raises SenderFull after
        `send_timeout` seconds. Close it (or use it in a `with`) before closing the client."""
        if max_batch < 1 or max_delay < 0 or max_message_bytes < 1:
            raise ValueError("max_batch and max_message_bytes must be positive, max_delay >= 0")
        return Sender(
            self._stub,
            self._metadata,
            self._config,
            Batching(max_batch, max_delay, max_message_bytes),
            Capacity(max_queued_events, max_queued_bytes),
            send_timeout,
        )

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "HeapDestinationClient":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _track(self, request: track_pb2.TrackEventRequest) -> track_pb2.TrackEventResponse:
        request.config.CopyFrom(self._config)
        response: track_pb2.TrackEventResponse = self._stub.TrackEvent(
            request, timeout=self._timeout, metadata=self._metadata
        )
        return response
