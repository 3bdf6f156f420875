"""The HeapDestinationService servicer: validate, deliver or store, answer."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, NoReturn, TypeVar

import grpc

from heap_destination.api import event_metrics
from heap_destination.api.account_mapping import account_input, account_response
from heap_destination.api.caller import PermissionDenied, ensure_caller_may_use, fairness_key
from heap_destination.api.error_status import ServiceError, grpc_status
from heap_destination.api.event_stream import EventStream
from heap_destination.api.identify_mapping import identify_input, identify_response
from heap_destination.api.in_flight import InFlightLimit, StreamInFlight
from heap_destination.api.request_destination import DestinationResolver, request_config
from heap_destination.api.stored_intake import StoredIntake, required_intake
from heap_destination.api.track_mapping import track_input, track_response
from heap_destination.api.unary_calls import deliver_unary
from heap_destination.api.web_snippet_mapping import render_web_snippet
from heap_destination.delivery.engine import DeliveryEngine
from heap_destination.delivery.errors import DeliveryError, ShuttingDown
from heap_destination.delivery.stored_work import (
    Origin,
    account_work,
    identify_work,
    track_work,
)
from heap_destination.domain.account import prepare_account
from heap_destination.domain.ack_mode import AckMode
from heap_destination.domain.destination import Destination, DestinationSettings
from heap_destination.domain.identify import prepare_identify
from heap_destination.domain.property_warnings import PropertyWarning
from heap_destination.domain.track import prepare_track
from heap_destination.domain.violations import InvalidInput
from heap_destination.store import NewItem
from heap_destination.v1 import (
    account_pb2,
    identify_pb2,
    service_pb2_grpc,
    stream_pb2,
    track_pb2,
    web_pb2,
)

_Response = TypeVar("_Response")
_UnaryRequest = (
    track_pb2.TrackEventRequest
    | identify_pb2.IdentifyUserRequest
    | account_pb2.UpdateAccountRequest
)


@dataclass(frozen=True)
class _Intake(Generic[_Response]):
    """A prepared unary call: what to store, how to deliver it, and its answer."""

    warnings: Sequence[PropertyWarning]
    work: Callable[[Origin], Sequence[NewItem]]
    submit: Callable[[float, str], asyncio.Future[Any]]
    response: Callable[[], _Response]
    identity: str | None = None
    """The identity whose rate limits the call waits for (track only)."""


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
        intake: StoredIntake | None = None,
    ) -> None:
        """`intake` is None when the server has no durable store."""
        self._engine = engine
        self._intake = intake
        self._defaults = defaults
        self._allowed_base_urls = allowed_base_urls
        self._in_flight = in_flight
        self._stream_bounds = stream_bounds

    async def TrackEvent(
        self, request: track_pb2.TrackEventRequest, context: grpc.aio.ServicerContext
    ) -> track_pb2.TrackEventResponse:
        def intake(destination: Destination) -> _Intake[track_pb2.TrackEventResponse]:
            track = prepare_track(track_input(request), destination)
            return _Intake(
                warnings=track.warnings,
                work=lambda origin: track_work(destination, track, origin),
                submit=lambda deadline, caller: self._engine.submit_track(
                    destination, track, deadline, caller
                ),
                response=lambda: track_response(destination, track),
                identity=track.event.identity,
            )

        return await self._unary("track", request, context, intake)

    async def IdentifyUser(
        self, request: identify_pb2.IdentifyUserRequest, context: grpc.aio.ServicerContext
    ) -> identify_pb2.IdentifyUserResponse:
        def intake(destination: Destination) -> _Intake[identify_pb2.IdentifyUserResponse]:
            identify = prepare_identify(identify_input(request), destination)
            return _Intake(
                warnings=identify.warnings,
                work=lambda origin: identify_work(destination, identify, origin),
                submit=lambda deadline, caller: self._engine.submit_identify(
                    destination, identify, deadline, caller
                ),
                response=lambda: identify_response(destination, identify),
            )

        return await self._unary("identify", request, context, intake)

    async def UpdateAccount(
        self, request: account_pb2.UpdateAccountRequest, context: grpc.aio.ServicerContext
    ) -> account_pb2.UpdateAccountResponse:
        def intake(destination: Destination) -> _Intake[account_pb2.UpdateAccountResponse]:
            account = prepare_account(account_input(request), destination)
            return _Intake(
                warnings=account.warnings,
                work=lambda origin: account_work(destination, account, origin),
                submit=lambda deadline, caller: self._engine.submit_account(
                    destination, account, deadline, caller
                ),
                response=lambda: account_response(destination, account),
            )

        return await self._unary("account", request, context, intake)

    async def _unary(
        self,
        kind: str,
        request: _UnaryRequest,
        context: grpc.aio.ServicerContext,
        intake: Callable[[Destination], "_Intake[_Response]"],
    ) -> _Response:
        """Resolves the destination, prepares the call (`intake`), then stores it or
        delivers it as its ack mode says, and counts its outcome."""
        deadline = self._engine.deadline(context.time_remaining())
        event_metrics.received(kind, "unary")
        warnings: Sequence[PropertyWarning] = ()
        try:
            destination = self._resolver().resolve(request_config(request))
            prepared = intake(destination)
            warnings = prepared.warnings
            stored = destination.ack_mode is AckMode.STORED
            if stored:
                origin = Origin(time.time(), request.message_id)
                await self._store(prepared.work(origin), deadline)
            else:
                caller = fairness_key(context)
                await deliver_unary(
                    self._engine,
                    self._in_flight,
                    deadline,
                    request.ByteSize(),
                    lambda: prepared.submit(deadline, caller),
                    rate_limited=(destination, prepared.identity)
                    if prepared.identity is not None
                    else None,
                )
        except (InvalidInput, DeliveryError, PermissionDenied) as error:
            event_metrics.settled(kind, error, warnings)
            await _abort(context, error)
        event_metrics.settled(kind, None, warnings, stored=stored)
        return prepared.response()

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
            self._intake,
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
            await _abort(context, error)
        return snippet

    async def _store(self, work: Sequence[NewItem], deadline: float) -> None:
        intake = required_intake(self._intake)
        if self._engine.draining:
            raise ShuttingDown()
        await intake.store(work, deadline)

    def _resolver(self) -> DestinationResolver:
        return DestinationResolver(self._defaults, self._allowed_base_urls)


async def _abort(context: grpc.aio.ServicerContext, error: ServiceError) -> NoReturn:
    status = grpc_status(error)
    await context.abort(status.code, status.details, status.trailing_metadata)
    raise AssertionError("context.abort always raises")
