"""The three ways of getting events to Heap, each timed per event from send to result.

- stream: one StreamEvents call per channel (usually one); an event's time runs from the
  moment the message carrying it was written to the moment its result arrived.
- unary: TrackEvent calls, a fixed number in flight (over one or more channels); the
  time of each call.
- baseline: one HTTP request per event straight to Heap (the simulator), a fixed number
  in flight, the way pipelines without the service deliver; the time of each request.

Each returns the ids (idempotency keys) Heap should now hold, so they can be checked.
"""

import asyncio
import dataclasses
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import aiohttp
import grpc

from benchmarks import processes
from benchmarks.payloads import APP_ID, PAYLOADS, Payload, user_id
from heap_destination.v1 import service_pb2_grpc, stream_pb2

CALL_TIMEOUT = 30.0
"""Seconds one unary call or one HTTP request may take."""
BASELINE_ATTEMPTS = 3
"""Tries per baseline request when the connection fails (as a pipeline would retry)."""
WARM_UP_TIMEOUT = 30.0


@dataclass(frozen=True)
class Measurement:
    ids: list[str]
    wall_seconds: float
    """From the first send to the last result."""
    latencies: list[float]
    """Seconds from send to result, one per event."""
    retries: int = 0
    """Requests the load generator sent again after a connection failure."""
    generator_cpu_seconds: float = 0.0
    """CPU seconds of this process, the load generator, from the first send to the last result."""
    machine_cpu_seconds: float = 0.0
    """CPU seconds of the whole machine (every process) over the same time."""


class Stopwatch:
    """Started at construction: wall time, this process's CPU time, the machine's CPU time."""

    def __init__(self) -> None:
        self._started = self._now()

    def measurement(self, ids: list[str], latencies: list[float]) -> Measurement:
        (wall, own, machine), (wall_0, own_0, machine_0) = self._now(), self._started
        return Measurement(ids, wall - wall_0, latencies, 0, own - own_0, machine - machine_0)

    @staticmethod
    def _now() -> tuple[float, float, float]:
        return time.perf_counter(), time.process_time(), processes.machine_busy_seconds()


class ScenarioFailed(RuntimeError):
    pass


def new_ids(count: int) -> list[str]:
    run = uuid.uuid4().hex[:12]
    return [f"{run}-{index}" for index in range(count)]


async def run_stream(
    stubs: Sequence[service_pb2_grpc.HeapDestinationServiceStub],
    payload: Payload,
    events: int,
    identities: int,
    per_message: int,
    timeout: float,
) -> Measurement:
    """One StreamEvents call per stub, all at once, the events split evenly over them."""
    ids = new_ids(events)
    share = math.ceil(events / len(stubs))
    parts = [ids[start : start + share] for start in range(0, events, share)]
    messages = [payload.stream_messages(part, identities, per_message) for part in parts]
    stopwatch = Stopwatch()
    latencies = await asyncio.gather(
        *(
            _stream(stub, part, part_messages, per_message, timeout)
            for stub, part, part_messages in zip(stubs, parts, messages, strict=False)
        )
    )
    return stopwatch.measurement(ids, [latency for part in latencies for latency in part])


async def _stream(
    stub: service_pb2_grpc.HeapDestinationServiceStub,
    ids: list[str],
    messages: list[stream_pb2.StreamEventsRequest],
    per_message: int,
    timeout: float,
) -> list[float]:
    """Sends `messages` on one call; the latency of each of `ids`."""
    written_at: list[float] = []
    answered_at: dict[str, float] = {}
    failures: list[str] = []
    call = stub.StreamEvents(timeout=timeout)

    async def write() -> None:
        for message in messages:
            await call.write(message)
            written_at.append(time.perf_counter())
        await call.done_writing()

    async def read() -> None:
        while (response := await call.read()) is not grpc.aio.EOF:
            now = time.perf_counter()
            for result in response.results:
                if result.id in answered_at:
                    failures.append(f"{result.id}: a second result")
                answered_at[result.id] = now
                if result.code != 0:
                    failures.append(f"{result.id}: code {result.code} {result.message}")

    try:
        await asyncio.gather(write(), read())
    finally:
        call.cancel()  # a no-op once the call ended; ends it on a failure or timeout
    _fail_if(failures, f"{len(failures)} streamed results were not OK")
    missing = [event_id for event_id in ids if event_id not in answered_at]
    _fail_if(missing, f"{len(missing)} of {len(ids)} streamed events got no result")
    return [
        max(0.0, answered_at[event_id] - written_at[index // per_message])
        for index, event_id in enumerate(ids)
    ]


async def run_unary(
    stubs: Sequence[service_pb2_grpc.HeapDestinationServiceStub],
    payload: Payload,
    events: int,
    identities: int,
    concurrency: int,
) -> Measurement:
    """`concurrency` calls in flight in all, taking the stubs in turn."""
    ids = new_ids(events)
    requests = [
        payload.track_request(user_id(index, identities), event_id)
        for index, event_id in enumerate(ids)
    ]

    async def send(index: int) -> None:
        await stubs[index % len(stubs)].TrackEvent(requests[index], timeout=CALL_TIMEOUT)

    return await _in_parallel(ids, concurrency, send)


async def run_baseline(
    heap_url: str, payload: Payload, events: int, identities: int, concurrency: int
) -> Measurement:
    ids = new_ids(events)
    properties = payload.flat_properties()
    retries = 0
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency),
        timeout=aiohttp.ClientTimeout(total=CALL_TIMEOUT),
    ) as http:

        async def send(index: int) -> None:
            nonlocal retries
            body = {
                "app_id": APP_ID,
                "identity": user_id(index, identities),
                "event": payload.event,
                "properties": properties,
                "idempotency_key": ids[index],
            }
            for attempt in range(1, BASELINE_ATTEMPTS + 1):
                try:
                    async with http.post(f"{heap_url}/api/track", json=body) as response:
                        await response.read()
                    break
                except (aiohttp.ClientConnectionError, TimeoutError):
                    if attempt == BASELINE_ATTEMPTS:
                        raise
                    retries += 1
            response.raise_for_status()

        measured = await _in_parallel(ids, concurrency, send)
    return dataclasses.replace(measured, retries=retries)


async def _in_parallel(
    ids: list[str], concurrency: int, send: Callable[[int], Awaitable[None]]
) -> Measurement:
    """Sends every event with `concurrency` workers; any failure fails the scenario."""
    latencies = [0.0] * len(ids)
    next_index = iter(range(len(ids)))
    failures: list[str] = []

    async def worker() -> None:
        for index in next_index:
            sent = time.perf_counter()
            try:
                await send(index)
            except (grpc.RpcError, aiohttp.ClientError, TimeoutError) as error:
                failures.append(f"{ids[index]}: {type(error).__name__} {error}")
            latencies[index] = time.perf_counter() - sent

    stopwatch = Stopwatch()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    _fail_if(failures, f"{len(failures)} of {len(ids)} events failed")
    return stopwatch.measurement(ids, latencies)


async def warm_up(
    stubs: Sequence[service_pb2_grpc.HeapDestinationServiceStub],
    identities: int,
    per_message: int,
    concurrency: int,
) -> None:
    """Opens the service's connections to Heap and runs each path once per stub, unmeasured."""
    example = PAYLOADS[0]
    both = asyncio.gather(
        run_stream(stubs, example, 1_000 * len(stubs), identities, per_message, WARM_UP_TIMEOUT),
        run_unary(stubs, example, concurrency, identities, concurrency),
    )
    await asyncio.wait_for(both, WARM_UP_TIMEOUT)


def _fail_if(problems: list[str], message: str) -> None:
    if problems:
        raise ScenarioFailed(f"{message}; first: {problems[0]}")


def percentile(values: list[float], percent: float) -> float:
    """Nearest-rank percentile."""
    ranked = sorted(values)
    return ranked[max(0, math.ceil(len(ranked) * percent / 100) - 1)]
