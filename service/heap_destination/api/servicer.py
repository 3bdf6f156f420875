"""The HeapDestinationService servicer: validate, deliver or store, answer."""

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

import grpc
from google.protobuf.message import Message

from heap_destination.api import event_metrics
from heap_destination.api.caller import PermissionDenied, ensure_caller_may_use, fairness_key
from heap_destination.api.error_status import abort
from heap_destination.api.event_stream import EventStream
from heap_destination.api.in_flight import InFlightLimit, StreamInFlight
from heap_destination.api.intake import Request, prepare
from heap_destination.api.mapping.web_snippet import render_web_snippet
from heap_destination.api.request_destination import DestinationResolver
from heap_destination.api.unary_calls import deliver_unary
from heap_destination.delivery.engine import DeliveryEngine
from heap_destination.delivery.errors import DeliveryError, ShuttingDown
from heap_destination.domain.destination import DestinationSettings
from heap_destination.domain.property_warnings import PropertyWarning
from heap_destination.domain.violations import InvalidInput
from heap_destination.durable.intake import StoredIntake, required_intake
from heap_destination.durable.work import Origin
from heap_destination.store import NewItem
from heap_destination.v1 import (
    account_pb2,
    identify_pb2,
    service_pb2_grpc,
    stream_pb2,
    track_pb2,
    web_pb2,
)

_Response = TypeVar("_Response", bound=Message)


@dataclass(frozen=True)
class StreamBounds:
    """What one stream may hold unanswered before it stops reading."""

    events: int
    bytes: int


class HeapDestinationServicer(service_pb2_grpc.HeapDestinationServiceServicer):
    def __init__(
        self,
        engine: DeliveryEngine,
        defaults: DestinationSettings,
        allowed_base_urls: frozenset[str],
        in_flight: InFlightLimit,
        stream_bounds: StreamBounds,
        stored_intake: StoredIntake | None = None,
    ) -> None:
        """`stored_intake` is None when the server has no durable store."""
        self._engine = engine
        self._stored_intake = stored_intake
        self._defaults = defaults
        self._allowed_base_urls = allowed_base_urls
        self._in_flight = in_flight
        self._stream_bounds = stream_bounds
        # One for every unary call: it remembers the configs calls carry (see _over).
        self._unary_destinations = self._resolver()

    async def TrackEvent(
        self, request: track_pb2.TrackEventRequest, context: grpc.aio.ServicerContext
    ) -> track_pb2.TrackEventResponse:
        return await self._unary("track", request, context, track_pb2.TrackEventResponse)

    async def IdentifyUser(
        self, request: identify_pb2.IdentifyUserRequest, context: grpc.aio.ServicerContext
    ) -> identify_pb2.IdentifyUserResponse:
        return await self._unary("identify", request, context, identify_pb2.IdentifyUserResponse)

    async def UpdateAccount(
        self, request: account_pb2.UpdateAccountRequest, context: grpc.aio.ServicerContext
    ) -> account_pb2.UpdateAccountResponse:
        return await self._unary("account", request, context, account_pb2.UpdateAccountResponse)

    async def _unary(
        self,
        kind: str,
        request: Request,
        context: grpc.aio.ServicerContext,
        response_type: type[_Response],
    ) -> _Response:
        """Takes the call through the intake, stores or delivers it as its ack mode says,
        and counts its outcome."""
        deadline = self._engine.deadline(context.time_remaining())
        event_metrics.received(kind, "unary")
        warnings: Sequence[PropertyWarning] = ()
        try:
            call = prepare(kind, request, self._unary_destinations)
            warnings = call.warnings
            if call.stored:
                origin = Origin(time.time(), request.message_id)
                await self._store(call.work(origin), deadline)
            else:
                caller = fairness_key(context)
                await deliver_unary(
                    self._engine,
                    self._in_flight,
                    deadline,
                    request.ByteSize(),
                    lambda: call.deliver(self._engine, deadline, caller, from_stream=False),
                )
        except (InvalidInput, DeliveryError, PermissionDenied) as error:
            event_metrics.settled(kind, error, warnings)
            await abort(context, error)
        event_metrics.settled(kind, None, warnings, stored=call.stored)
        answer = call.answer()
        assert isinstance(answer, response_type)
        return answer

    async def StreamEvents(
        self,
        request_iterator: AsyncIterator[stream_pb2.StreamEventsRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[stream_pb2.StreamEventsResponse]:
        stream = EventStream(
            self._engine,
            self._resolver(),
            StreamInFlight(self._in_flight, self._stream_bounds.events, self._stream_bounds.bytes),
            fairness_key(context),
            self._stored_intake,
        )
        async for response in stream.responses(request_iterator):
            yield response

    async def RenderWebSnippet(
        self, request: web_pb2.RenderWebSnippetRequest, context: grpc.aio.ServicerContext
    ) -> web_pb2.RenderWebSnippetResponse:
        try:
            snippet = render_web_snippet(request, self._defaults)
            ensure_caller_may_use(snippet.app_id)
        except (InvalidInput, PermissionDenied) as error:
            await abort(context, error)
        return snippet

    async def _store(self, work: Sequence[NewItem], deadline: float) -> None:
        stored_intake = required_intake(self._stored_intake)
        if self._engine.draining:
            raise ShuttingDown()
        await stored_intake.store(work, deadline)

    def _resolver(self) -> DestinationResolver:
        return DestinationResolver(self._defaults, self._allowed_base_urls)
