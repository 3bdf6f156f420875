from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any

import grpc
from google.protobuf import timestamp_pb2

from heap_destination.client.streaming import to_struct
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
            track_pb2.EVENT_TYPE_PAGE,
            name=name,
            user_id=user_id,
            anonymous_id=anonymous_id,
            properties=properties,
            timestamp=timestamp,
            message_id=message_id,
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
            track_pb2.EVENT_TYPE_SCREEN,
            name=name,
            user_id=user_id,
            anonymous_id=anonymous_id,
            properties=properties,
            timestamp=timestamp,
            message_id=message_id,
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
        request = identify_pb2.IdentifyUserRequest(
            config=self._config,
            user_id=user_id,
            anonymous_id=anonymous_id,
            traits=to_struct(traits),
            heap_user_id=heap_user_id,
            message_id=message_id,
        )
        if timestamp is not None:
            request.timestamp.CopyFrom(_timestamp(timestamp))
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
        request = account_pb2.UpdateAccountRequest(
            config=self._config,
            account_id=account_id,
            properties=to_struct(properties),
            message_id=message_id,
        )
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

    def _track(
        self,
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
    ) -> track_pb2.TrackEventResponse:
        request = track_pb2.TrackEventRequest(
            config=self._config,
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
        response: track_pb2.TrackEventResponse = self._stub.TrackEvent(
            request, timeout=self._timeout, metadata=self._metadata
        )
        return response


def _timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    timestamp = timestamp_pb2.Timestamp()
    timestamp.FromDatetime(moment)
    return timestamp
