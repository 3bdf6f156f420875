"""One StreamEvents call: reads event batches, delivers each event, answers each once.

A reader task takes events while the stream's bounds allow: events and bytes in flight
(see in_flight.py) and results not yet sent. When it stops reading, gRPC flow control
slows the producer. Results are written as events settle, packed into responses of at
most MAX_RESPONSE_BYTES. The stream ends once the client half-closed and every event it
sent has its result; a message that cannot be decoded ends it with INVALID_ARGUMENT,
after the results of every event before it.

The messages come decoded with their events' Structs as bytes (structs/bytes_messages.py),
the rest as the contract's StreamEventsRequest; each event's Structs are read when it is
prepared, so one that does not decode is that event's violation.
"""

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Sequence
from functools import partial

from google.rpc import code_pb2

from heap_destination.api import event_metrics
from heap_destination.api.caller import PermissionDenied
from heap_destination.api.error_status import ServiceError, describe, duration
from heap_destination.api.in_flight import StreamInFlight
from heap_destination.api.intake import PreparedCall, prepare
from heap_destination.api.mapping.warnings import unlisted_warnings, warnings_to_proto
from heap_destination.api.request_destination import DestinationResolver
from heap_destination.delivery.engine import DeliveryEngine
from heap_destination.delivery.errors import (
    DeliveryError,
    InternalError,
    ShuttingDown,
)
from heap_destination.delivery.outcomes import as_delivery_error, outcome_error
from heap_destination.domain.ack_mode import AckMode
from heap_destination.domain.limits import MAX_MESSAGE_ID_LENGTH
from heap_destination.domain.property_warnings import PropertyWarning
from heap_destination.domain.violations import FieldViolation, InvalidInput
from heap_destination.durable.intake import StoredIntake, no_store
from heap_destination.durable.message_batch import StoredBatch
from heap_destination.durable.work import (
    Origin,
)
from heap_destination.v1 import errors_pb2, stream_pb2

log = logging.getLogger(__name__)

# Every response stays well under the 4 MiB a gRPC client accepts by default.
MAX_RESPONSE_BYTES = 1 << 20
# Results waiting to be sent to a client that does not read stop the reader past this.
MAX_UNSENT_RESULT_BYTES = 2 * MAX_RESPONSE_BYTES
# The reader lets other calls run after taking this many events in a row.
_EVENTS_BETWEEN_TURNS = 1000


class EventStream:
    def __init__(
        self,
        engine: DeliveryEngine,
        destinations: DestinationResolver,
        in_flight: StreamInFlight,
        caller: str,
        stored_intake: StoredIntake | None = None,
    ) -> None:
        self._engine = engine
        self._stored = StoredBatch(stored_intake) if stored_intake is not None else None
        self._destinations = destinations
        self._in_flight = in_flight
        self._caller = caller
        self._unanswered_ids: set[str] = set()
        self._ready: deque[tuple[stream_pb2.EventResult, int]] = deque()
        self._ready_bytes = 0
        self._wakeup = asyncio.Event()
        self._sent = asyncio.Event()
        self._ending: InvalidInput | None = None
        self._tally = event_metrics.StreamTally()

    async def responses(
        self, requests: AsyncIterator[stream_pb2.StreamEventsRequest]
    ) -> AsyncIterator[stream_pb2.StreamEventsResponse]:
        """Raises InvalidInput, once every earlier event has its result, when a message
        cannot be decoded."""
        reader = asyncio.create_task(self._read(requests))
        reader.add_done_callback(lambda _: self._wakeup.set())
        try:
            while True:
                if self._ready:
                    yield self._next_response()
                    continue
                if reader.done():
                    reader.result()  # a failure of the reader itself ends the call
                    if not self._unanswered_ids:
                        if self._ending is not None:
                            raise self._ending
                        return
                self._wakeup.clear()
                await self._wakeup.wait()
        finally:
            reader.cancel()
            self._tally.close()

    async def _read(self, requests: AsyncIterator[stream_pb2.StreamEventsRequest]) -> None:
        taken = 0
        try:
            async for message in requests:
                if message.HasField("config"):
                    self._destinations = self._destinations.with_config(message.config)
                for event in message.events:
                    size = event.ByteSize()
                    if not self._in_flight.has_room(size):
                        self._flush_stored()
                        await self._in_flight.wait_for_room(size)
                    while self._ready_bytes > MAX_UNSENT_RESULT_BYTES:
                        self._flush_stored()
                        self._sent.clear()
                        await self._sent.wait()
                    waiting = self._take(event, size)
                    if waiting is not None:
                        await waiting
                    taken += 1
                    if taken % _EVENTS_BETWEEN_TURNS == 0:
                        self._flush_stored()
                        await asyncio.sleep(0)
                self._flush_stored()
                self._tally.add_up()
        except InvalidInput as error:
            self._ending = error
        finally:
            self._flush_stored()

    def _flush_stored(self) -> None:
        """Commits the stored-mode events taken so far; before any wait, so that no
        event waits for a commit that was never asked for."""
        if self._stored is not None:
            self._stored.flush()

    def _take(self, event: stream_pb2.Event, size: int) -> Awaitable[None] | None:
        """Takes one event: answers it at once when it cannot be taken, else hands it to
        the store or to delivery. What it returns, when it returns something, must be
        awaited before the next event: delivery waits for Heap's budget."""
        kind = event.WhichOneof("kind") or "unknown"
        event_id = event.id
        self._tally.received(kind)
        refusal = self._refusal(event_id, kind)
        if refusal is not None:
            self._answer_error(kind, event_id, refusal)
            return None
        try:
            request = getattr(event, kind)
            call = prepare(kind, request, self._destinations)
            if call.stored:
                origin = Origin(time.time(), request.message_id, event_id)
                batch, work = self._stored_batch(), call.work(origin)
                self._taken(event_id, size)
                answer = partial(self._settled, kind, event_id, size, call.warnings, AckMode.STORED)
                batch.add(work, answer)
                return None
            return self._deliver(kind, event_id, size, call)
        except (InvalidInput, DeliveryError, PermissionDenied) as error:
            self._answer_error(kind, event_id, error)
        except Exception as error:  # one event never ends the stream, whatever it holds
            self._failed_unexpectedly(kind, event_id, error)
        return None

    def _deliver(
        self, kind: str, event_id: str, size: int, call: PreparedCall
    ) -> Awaitable[None] | None:
        """Queues a delivered-mode event at once when it fits Heap's budget now (no
        future, no wait); else gives what waits for it."""
        answer = partial(self._settled, kind, event_id, size, call.warnings, AckMode.DELIVERED)
        # Taken before it is queued, so that however soon it is answered, it is given back.
        self._taken(event_id, size)
        try:
            deadline = self._engine.deadline(None)
            if call.deliver_now(self._engine, deadline, self._caller, answer):
                return None
        except BaseException:
            self._given_back(event_id, size)
            raise
        self._given_back(event_id, size)
        return self._deliver_later(kind, event_id, size, call)

    async def _deliver_later(self, kind: str, event_id: str, size: int, call: PreparedCall) -> None:
        """Delivers an event that may wait for Heap's budget (or is not a track event)."""
        # Commit what this stream stored first: no stored event waits for this one.
        self._flush_stored()
        try:
            deadline = self._engine.deadline(None)
            submitted = await call.deliver(self._engine, deadline, self._caller, from_stream=True)
        except (InvalidInput, DeliveryError, PermissionDenied) as error:
            self._answer_error(kind, event_id, error)
            return
        except Exception as error:
            self._failed_unexpectedly(kind, event_id, error)
            return
        self._taken(event_id, size)
        answer = partial(self._settled, kind, event_id, size, call.warnings, AckMode.DELIVERED)
        submitted.add_done_callback(lambda outcome: answer(outcome_error(outcome)))

    def _failed_unexpectedly(self, kind: str, event_id: str, error: Exception) -> None:
        log.error("taking a streamed event failed unexpectedly", exc_info=error)
        self._answer_error(kind, event_id, InternalError("internal error"))

    def _taken(self, event_id: str, size: int) -> None:
        self._unanswered_ids.add(event_id)
        self._in_flight.take(size)

    def _given_back(self, event_id: str, size: int) -> None:
        self._unanswered_ids.discard(event_id)
        self._in_flight.give_back(size)

    def _stored_batch(self) -> StoredBatch:
        if self._stored is None:
            raise no_store()
        return self._stored

    def _refusal(self, event_id: str, kind: str) -> ServiceError | None:
        """Why the event cannot be taken at all, if it cannot."""
        if not event_id:
            return InvalidInput([FieldViolation("id", "required")])
        if len(event_id) > MAX_MESSAGE_ID_LENGTH:
            return InvalidInput(
                [FieldViolation("id", f"must be at most {MAX_MESSAGE_ID_LENGTH} characters")]
            )
        if event_id in self._unanswered_ids:
            return InvalidInput(
                [
                    FieldViolation(
                        "id", "already used by an event of this stream that has no result yet"
                    )
                ]
            )
        if kind == "unknown":
            return InvalidInput(
                [FieldViolation("kind", "required: set track, identify or account")]
            )
        if self._engine.draining:
            return ShuttingDown()
        return None

    def _settled(
        self,
        kind: str,
        event_id: str,
        size: int,
        warnings: Sequence[PropertyWarning],
        ack_mode: AckMode,
        error: BaseException | None,
    ) -> None:
        """Answers an event taken: committed or delivered (as `ack_mode` says), or `error`."""
        self._given_back(event_id, size)
        failure = as_delivery_error(error)
        if failure is not None:
            self._answer_error(kind, event_id, failure, warnings)
            return
        self._tally.succeeded(kind, warnings, stored=ack_mode is AckMode.STORED)
        if warnings:
            result = stream_pb2.EventResult(
                id=event_id,
                code=code_pb2.OK,
                warnings=warnings_to_proto(warnings),
                unlisted_warnings=unlisted_warnings(warnings),
            )
        else:
            result = stream_pb2.EventResult(id=event_id, code=code_pb2.OK)
        self._answer(result)

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
            # An id over the limit is echoed cut to it, so no result outgrows a response.
            id=event_id[:MAX_MESSAGE_ID_LENGTH],
            code=description.code,
            message=description.message,
            reason=description.reason,
            error_reason=errors_pb2.ErrorReason.Value(f"ERROR_REASON_{description.reason}"),
            field_violations=[
                stream_pb2.FieldViolation(field=v.field, description=v.description)
                for v in description.violations
            ],
            unlisted_field_violations=description.unlisted_violations,
            warnings=warnings_to_proto(warnings),
            unlisted_warnings=unlisted_warnings(warnings),
        )
        if description.retry_delay is not None:
            result.retry_delay.CopyFrom(duration(description.retry_delay))
        self._answer(result)

    def _answer(self, result: stream_pb2.EventResult) -> None:
        size = result.ByteSize()
        self._ready.append((result, size))
        self._ready_bytes += size
        self._wakeup.set()

    def _next_response(self) -> stream_pb2.StreamEventsResponse:
        """The ready results that fit in one response (always at least one)."""
        results: list[stream_pb2.EventResult] = []
        packed = 0
        while self._ready:
            result, size = self._ready[0]
            # Each result costs its size plus a few bytes of framing in the response.
            if results and packed + size + 8 > MAX_RESPONSE_BYTES:
                break
            self._ready.popleft()
            results.append(result)
            packed += size + 8
        self._ready_bytes -= packed - 8 * len(results)
        self._sent.set()
        self._tally.add_up()
        return stream_pb2.StreamEventsResponse(results=results)
