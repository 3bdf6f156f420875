"""The two floors each path of the service is measured against, in the same run:

- unary: CPU per call of a bare grpc.aio servicer (floor_server.py) that only decodes a
  TrackEventRequest and answers an empty response, driven like the service's unary rows
  (the same load generator, the same calls in flight); and the same servicer holding
  each call as long as the service's median call took, since gRPC costs more per call
  when calls stay open (timers, fewer completions handled per turn of the event loop);
- stream: CPU per event of decoding the benchmark's StreamEventsRequest messages and
  encoding Heap's bulk track bodies for their events (the service's own body builder and
  JSON encoder, properties already flat), in a tight loop in this process.

A path's multiple of its floor is its CPU per event divided by the floor's.
"""

import re
import time
from dataclasses import dataclass
from pathlib import Path

import grpc

from benchmarks import processes, scenarios
from benchmarks.payloads import Payload
from heap_destination.delivery.heap.bodies import bulk_track_body
from heap_destination.domain.heap_calls import HeapEvent
from heap_destination.domain.json_text import encode
from heap_destination.v1 import service_pb2_grpc, stream_pb2

FLOOR_READY = re.compile(r"unary floor listening on [\d.]+:(?P<port>\d+)")
HEAP_BULK_EVENTS = 1_000
"""Events per bulk body in the stream floor: Heap's cap per bulk request."""


@dataclass(frozen=True)
class UnaryFloor:
    hold_ms: float
    """How long the servicer held each call before answering it."""
    calls: int
    calls_per_second: float
    cpu_seconds: float
    """CPU of the floor server's process over the calls."""

    @property
    def cpu_us_per_call(self) -> float:
        return self.cpu_seconds / self.calls * 1e6


@dataclass(frozen=True)
class StreamFloor:
    events: int
    cpu_seconds: float

    @property
    def cpu_us_per_event(self) -> float:
        return self.cpu_seconds / self.events * 1e6


async def unary_floor(
    payload: Payload,
    calls: int,
    identities: int,
    concurrency: int,
    logs: Path,
    hold_ms: float = 0.0,
) -> UnaryFloor:
    command = [
        str(processes.BIN / "python"),
        "-m",
        "benchmarks.floor_server",
        f"--hold-ms={hold_ms}",
    ]
    log = logs / f"unary-floor-{payload.name}-{hold_ms:.0f}ms.log"
    with processes.child(command, log, FLOOR_READY, processes.START_TIMEOUT) as server:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = service_pb2_grpc.HeapDestinationServiceStub(channel)
            await scenarios.run_unary([stub], payload, concurrency, identities, concurrency)
            before = processes.usage(server.pid).cpu_seconds
            measured = await scenarios.run_unary([stub], payload, calls, identities, concurrency)
            cpu = processes.usage(server.pid).cpu_seconds - before
    return UnaryFloor(hold_ms, calls, calls / measured.wall_seconds, cpu)


def stream_floor(payload: Payload, events: int, identities: int, per_message: int) -> StreamFloor:
    ids = scenarios.new_ids(events)
    wire = [m.SerializeToString() for m in payload.stream_messages(ids, identities, per_message)]
    flat = payload.flat_properties()
    started = time.process_time()
    pending: list[HeapEvent] = []
    for data in wire:
        message = stream_pb2.StreamEventsRequest.FromString(data)
        for event in message.events:
            track = event.track
            pending.append(HeapEvent(track.user_id, track.event, flat, track.message_id))
            if len(pending) == HEAP_BULK_EVENTS:
                encode(bulk_track_body(message.config.app_id, pending))
                pending = []
    if pending:
        encode(bulk_track_body("", pending))
    return StreamFloor(events, time.process_time() - started)
