"""Benchmark: the service's peak memory under the loads that could make it grow.

Each scenario runs on a fresh service process (default bounds, rate limits off) against
a simulator that answers after 500 ms, so events pile up in the service as far as its
bounds let them. Printed per scenario: the service's resident memory once warmed up,
its peak (VmHWM), and whether every event got its result. docs/delivery.md states the bound
these figures are held to (MEMORY_BOUND_MB).

Run with `make bench` (after the throughput figures) or `make bench-memory`.
"""

import asyncio
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
from google.protobuf import struct_pb2

from benchmarks import control, processes
from benchmarks.bench import machine
from heap_destination.v1 import config_pb2, service_pb2_grpc, stream_pb2, track_pb2

MEMORY_BOUND_MB = 250
HEAP_LATENCY_MS = 500
APP_ID = "1234567890"


@dataclass(frozen=True)
class Scenario:
    name: str
    streams: int
    events_per_stream: int
    properties: dict[str, str | int]
    per_message: int = 500
    """Events per stream message; messages stay under the default 4 MiB."""
    valid: bool = True
    read_late: bool = False
    """The client reads no result until its writes stall (gRPC flow control)."""


def _heavy() -> dict[str, str | int]:
    return {f"property_{i:02}": f"value {i} " * 4 for i in range(45)}


def _long_values() -> dict[str, str | int]:
    return {f"text_{i:02}": chr(ord("a") + i % 26) * 1000 for i in range(30)}


SCENARIOS = [
    Scenario("5 streams x 12,000 events of 45 properties", 5, 12_000, _heavy()),
    Scenario(
        "1 stream x 12,000 events of 30 values of 1,000 chars",
        1,
        12_000,
        _long_values(),
        per_message=120,
    ),
    Scenario(
        "1 stream x 50,000 invalid events, results unread",
        1,
        50_000,
        {"k" * 1100: 1},
        valid=False,
        read_late=True,
    ),
]


@dataclass(frozen=True)
class MemoryRow:
    scenario: str
    events: int
    base_mb: float
    peak_mb: float
    every_event_answered: bool


def _messages(scenario: Scenario, stream_index: int) -> list[stream_pb2.StreamEventsRequest]:
    properties = struct_pb2.Struct()
    properties.update(scenario.properties)
    messages = []
    for start in range(0, scenario.events_per_stream, scenario.per_message):
        events = []
        for i in range(start, min(start + scenario.per_message, scenario.events_per_stream)):
            track = track_pb2.TrackEventRequest(
                user_id=f"user-{i % 500}" if scenario.valid else "",
                event="Signed Up",
                properties=properties,
                message_id=f"{stream_index}-{i}",
            )
            events.append(stream_pb2.Event(id=str(i), track=track))
        messages.append(stream_pb2.StreamEventsRequest(events=events))
    messages[0].config.CopyFrom(config_pb2.DestinationConfig(app_id=APP_ID))
    return messages


async def _one_stream(
    stub: service_pb2_grpc.HeapDestinationServiceStub,
    messages: list[stream_pb2.StreamEventsRequest],
    read_late: bool,
) -> int:
    """Streams `messages`; returns how many results came back."""
    written = 0

    async def requests() -> AsyncIterator[stream_pb2.StreamEventsRequest]:
        nonlocal written
        for message in messages:
            yield message
            written += 1

    call = stub.StreamEvents(requests(), timeout=600)
    if read_late:
        await _until_still(lambda: written)
    results = 0
    async for response in call:
        results += len(response.results)
    return results


async def _until_still(count: Callable[[], int], quiet: float = 2.0) -> None:
    last, since = count(), time.monotonic()
    while time.monotonic() - since < quiet:
        await asyncio.sleep(0.1)
        if count() != last:
            last, since = count(), time.monotonic()


async def _measure(scenario: Scenario, heap_url: str, log: Path) -> MemoryRow:
    serve = processes.serve_command(heap_url)
    with processes.child(serve, log, processes.SERVICE_READY, processes.START_TIMEOUT) as service:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{service.port}") as channel:
            stub = service_pb2_grpc.HeapDestinationServiceStub(channel)
            await _one_stream(stub, _messages(Scenario("warm-up", 1, 10, {"a": 1}), 99), False)
            base = processes.usage(service.pid).rss_mb
            processes.reset_peak(service.pid)
            streams = [_messages(scenario, s) for s in range(scenario.streams)]
            answered = await asyncio.gather(
                *(_one_stream(stub, m, scenario.read_late) for m in streams)
            )
            peak = processes.usage(service.pid).peak_mb
    return MemoryRow(
        scenario.name,
        scenario.streams * scenario.events_per_stream,
        base,
        peak,
        sum(answered) == scenario.streams * scenario.events_per_stream,
    )


async def run_all(heap_url: str, logs: Path) -> list[MemoryRow]:
    async with control.control_session() as http:
        fault = {"latency_ms": HEAP_LATENCY_MS, "probability": 1.0}
        await control.call(http, "POST", f"{heap_url}/_sim/faults", fault)
    return [
        await _measure(scenario, heap_url, logs / f"service-memory-{index}.log")
        for index, scenario in enumerate(SCENARIOS)
    ]


def report(rows: list[MemoryRow]) -> None:
    print(machine())
    print(
        f"memory: default bounds, Heap (the simulator) answering after {HEAP_LATENCY_MS} ms; "
        f"the bound docs/delivery.md states is {MEMORY_BOUND_MB} MB"
    )
    header = (
        f"{'scenario':<52} {'events':>7} {'svc base MB':>11} {'svc peak MB':>11} {'answered':>8}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.scenario:<52} {row.events:>7} {row.base_mb:>11.1f} {row.peak_mb:>11.1f} "
            f"{'all' if row.every_event_answered else 'NOT ALL':>8}"
        )


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="heap-bench-memory-") as scratch:
        logs = Path(scratch)
        simulate = [str(processes.BIN / "heap-destination"), "simulate", "--listen", "127.0.0.1:0"]
        ready = processes.SIMULATOR_READY
        with processes.child(simulate, logs / "sim.log", ready, processes.START_TIMEOUT) as sim:
            rows = asyncio.run(run_all(f"http://127.0.0.1:{sim.port}", logs))
    report(rows)
    failed = [r for r in rows if not r.every_event_answered or r.peak_mb >= MEMORY_BOUND_MB]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
