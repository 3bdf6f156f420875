"""One StreamEvents call: reads event batches, delivers each event, answers each once.

A reader task takes events while the stream's in-flight bound allows (when it stops
reading, gRPC flow control slows the producer); results are written as events settle,
grouped into whatever responses are ready. The stream ends once the client half-closed
and every event it sent has its result.
"""

import asyncio
from collections.abc import AsyncIterator, Sequence
from functools import partial
from typing import Any

from google.rpc import code_pb2

from heap_destination.api import event_metrics
from heap_destination.api.caller import PermissionDenied
from heap_destination.api.error_status import ServiceError, describe, duration
from heap_destination.api.identify_mapping import identify_input
from heap_destination.api.request_destination import DestinationResolver, request_config
from heap_destination.api.track_mapping import track_input
from heap_destination.api.warning_mapping import warnings_to_proto
from heap_destination.delivery.engine import DeliveryEngine
from heap_destination.delivery.errors import DeliveryError, ShuttingDown
from heap_destination.delivery.futures import delivery_error
from heap_destination.delivery.in_flight import StreamInFlight
from heap_destination.domain.identify import prepare_identify
from heap_destination.domain.property_warnings import PropertyWarning
from heap_destination.domain.track import prepare_track
from heap_destination.domain.violations import FieldViolation, InvalidInput
from heap_destination.v1 import stream_pb2

MAX_RESULTS_PER_RESPONSE = 1000


class EventStream:
    def __init__(
        self, engine: DeliveryEngine, destinations: DestinationResolver, in_flight: StreamInFlight
    ) -> None:
        self._engine = engine
        self._destinations = destinations
        self._in_flight = in_flight
        self._unanswered_ids: set[str] = set()
        self._ready: list[stream_pb2.EventResult] = []
        self._wakeup = asyncio.Event()

    async def responses(
        self, requests: AsyncIterator[stream_pb2.StreamEventsRequest]
    ) -> AsyncIterator[stream_pb2.StreamEventsResponse]:
        reader = asyncio.create_task(self._read(requests))
        reader.add_done_callback(lambda _: self._wakeup.set())
        try:
            while True:
                if self._ready:
                    results = self._ready[:MAX_RESULTS_PER_RESPONSE]
                    del self._ready[:MAX_RESULTS_PER_RESPONSE]
                    yield stream_pb2.StreamEventsResponse(results=results)
                    continue
                if reader.done():
                    reader.result()  # a broken request stream ends the call with its error
                    if not self._unanswered_ids:
                        return
                self._wakeup.clear()
                await self._wakeup.wait()
        finally:
            reader.cancel()

    async def _read(self, requests: AsyncIterator[stream_pb2.StreamEventsRequest]) -> None:
        async for message in requests:
            if message.HasField("config"):
                self._destinations = self._destinations.with_config(message.config)
            for event in message.events:
                await self._in_flight.wait_for_room()
                await self._take(event)

    async def _take(self, event: stream_pb2.Event) -> None:
        kind = event.WhichOneof("kind") or "unknown"
        event_metrics.received(kind, "stream")
        refusal = self._refusal(event, kind)
        if refusal is not None:
            self._answer_error(kind, event.id, refusal)
            return
        deadline = self._engine.deadline(None)
        try:
            if kind == "track":
                destination = self._destinations.resolve(request_config(event.track))
                track = prepare_track(track_input(event.track), destination)
                await self._engine.admit(destination, track.event.identity, deadline)
                delivered = self._engine.submit_track(destination, track, deadline)
                warnings: Sequence[PropertyWarning] = track.warnings
            else:
                destination = self._destinations.resolve(request_config(event.identify))
                identify = prepare_identify(identify_input(event.identify), destination)
                delivered = self._engine.submit_identify(destination, identify, deadline)
                warnings = identify.warnings
        except (InvalidInput, DeliveryError, PermissionDenied) as error:
            self._answer_error(kind, event.id, error)
            return
        self._unanswered_ids.add(event.id)
        self._in_flight.take()
        delivered.add_done_callback(partial(self._settled, kind, event.id, warnings))

    def _refusal(self, event: stream_pb2.Event, kind: str) -> ServiceError | None:
        """Why the event cannot be taken at all, if it cannot."""
        if not event.id:
            return InvalidInput([FieldViolation("id", "required")])
        if event.id in self._unanswered_ids:
            return InvalidInput(
                [
                    FieldViolation(
                        "id", "already used by an event of this stream that has no result yet"
                    )
                ]
            )
        if kind == "unknown":
            return InvalidInput([FieldViolation("kind", "required: set track or identify")])
        if self._engine.draining:
            return ShuttingDown()
        return None

    def _settled(
        self,
        kind: str,
        event_id: str,
        warnings: Sequence[PropertyWarning],
        delivered: asyncio.Future[Any],
    ) -> None:
        self._unanswered_ids.discard(event_id)
        self._in_flight.give_back()
        error = delivery_error(delivered)
        if error is None:
            event_metrics.settled(kind, None, warnings)
            self._answer(
                stream_pb2.EventResult(
                    id=event_id, code=code_pb2.OK, warnings=warnings_to_proto(warnings)
                )
            )
        else:
            self._answer_error(kind, event_id, error, warnings)

    def _answer_error(
        self,
        kind: str,
        event_id: str,
        error: ServiceError,
        warnings: Sequence[PropertyWarning] = (),
    ) -> None:
        event_metrics.settled(kind, error, warnings)
        description = describe(error)
        result = stream_pb2.EventResult(
            id=event_id,
            code=description.code,
            message=description.message,
            reason=description.reason,
            field_violations=[
                stream_pb2.FieldViolation(field=v.field, description=v.description)
                for v in description.violations
            ],
            warnings=warnings_to_proto(warnings),
        )
        if description.retry_delay is not None:
            result.retry_delay.CopyFrom(duration(description.retry_delay))
        self._answer(result)

    def _answer(self, result: stream_pb2.EventResult) -> None:
        self._ready.append(result)
        self._wakeup.set()
