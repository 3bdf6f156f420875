"""One StreamEvents call of the batching sender: a writer that packs queued events into
messages, and a reader thread that settles each event's future from its result."""

import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field

import grpc

from heap_destination.client.event_errors import EventError
from heap_destination.client.sender_capacity import Capacity
from heap_destination.v1 import config_pb2, service_pb2_grpc, stream_pb2

_reader_threads = threading.local()


def on_a_reader_thread() -> bool:
    """True in a future's done-callback (they run on the thread that reads results)."""
    return getattr(_reader_threads, "reading", False)


@dataclass(frozen=True)
class Batching:
    max_batch: int
    """Events per message at most."""
    max_delay: float
    """Seconds an event waits in the queue for others to share its message."""
    max_message_bytes: int
    """Bytes of events per message at most (an event larger than this goes alone)."""


@dataclass
class Queued:
    event: stream_pb2.Event
    size: int
    future: "Future[stream_pb2.EventResult]"
    queued_at: float = field(default_factory=time.monotonic)


class SenderStream:
    def __init__(
        self,
        stub: service_pb2_grpc.HeapDestinationServiceStub,
        metadata: tuple[tuple[str, str], ...],
        config: config_pb2.DestinationConfig,
        batching: Batching,
        capacity: Capacity,
    ) -> None:
        self._config = config
        self._batching = batching
        self._capacity = capacity
        self._outgoing: queue.Queue[Queued | None] = queue.Queue()
        self._carried: Queued | None = None
        self._pending: dict[str, Queued] = {}
        self._lock = threading.Lock()
        self._ended = False
        self._cancelled_because: tuple[grpc.StatusCode, str] | None = None
        self._call = stub.StreamEvents(self._messages(), metadata=metadata)
        self._reader = threading.Thread(
            target=self._read, name="heap-destination-sender", daemon=True
        )
        self._reader.start()

    def put(self, queued: Queued) -> bool:
        """Queues an event; False when the stream has ended (open another)."""
        with self._lock:
            if self._ended:
                return False
            self._pending[queued.event.id] = queued
        self._outgoing.put(queued)
        return True

    def finish(self, timeout: float | None) -> None:
        """Sends what is queued, half-closes and waits for every result; past `timeout`,
        cancels the call and fails the events still without a result."""
        self._outgoing.put(None)  # the end: half-close once what came before is sent
        self._reader.join(timeout)
        if self._reader.is_alive():
            self._cancelled_because = (
                grpc.StatusCode.DEADLINE_EXCEEDED,
                "the sender was closed before this event's result came",
            )
            self._call.cancel()
            self._reader.join()

    def _messages(self) -> Iterator[stream_pb2.StreamEventsRequest]:
        first = True
        while True:
            batch, ending = self._next_batch()
            if batch:
                message = stream_pb2.StreamEventsRequest(events=[q.event for q in batch])
                if first:
                    message.config.CopyFrom(self._config)
                    first = False
                yield message
            if ending:
                return

    def _next_batch(self) -> tuple[list[Queued], bool]:
        """The next message's events, once it is full or its first event waited
        max_delay; and whether the sender is closing (or the stream ended)."""
        first = self._carried if self._carried is not None else self._outgoing.get()
        self._carried = None
        if first is None:
            return [], True
        batch, size = [first], first.size
        deadline = first.queued_at + self._batching.max_delay
        while len(batch) < self._batching.max_batch:
            try:
                following = self._outgoing.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                break
            if following is None:
                return batch, True
            if size + following.size > self._batching.max_message_bytes:
                self._carried = following
                break
            batch.append(following)
            size += following.size
        return batch, False

    def _read(self) -> None:
        _reader_threads.reading = True
        code, message = (
            grpc.StatusCode.UNAVAILABLE,
            "the stream ended before this event's result came; send it again",
        )
        try:
            for response in self._call:
                for result in response.results:
                    self._settle(result)
        except grpc.RpcError as error:
            call: grpc.Call = error
            code, message = call.code(), call.details() or "the stream failed"
        self._end(*(self._cancelled_because or (code, message)))

    def _settle(self, result: stream_pb2.EventResult) -> None:
        with self._lock:
            queued = self._pending.pop(result.id, None)
        if queued is None:
            return
        if result.code == grpc.StatusCode.OK.value[0]:
            queued.future.set_result(result)
        else:
            queued.future.set_exception(EventError.from_result(result))
        self._capacity.give_back(queued.size)

    def _end(self, code: grpc.StatusCode, message: str) -> None:
        """Fails every event still without a result with the stream's own error."""
        with self._lock:
            self._ended = True
            unanswered = list(self._pending.values())
            self._pending.clear()
        self._outgoing.put(None)  # lets the writer return if it still waits
        for queued in unanswered:
            queued.future.set_exception(EventError.of_stream(code, message))
            self._capacity.give_back(queued.size)
