"""The three ways of getting events to Heap, each timed per event from send to result.

- stream: one StreamEvents call; an event's time runs from the moment the message
  carrying it was written to the moment its result arrived.
- unary: TrackEvent calls, a fixed number in flight; the time of each call.
- baseline: one HTTP request per event straight to Heap (the simulator), a fixed number
  in flight, the way pipelines without the service deliver; the time of each request.

Each returns the ids (idempotency keys) Heap should now hold, so they can be checked.
"""

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import grpc
import httpx

from benchmarks.payloads import APP_ID, Payload, user_id
from heap_destination.v1 import service_pb2_grpc

CALL_TIMEOUT = 30.0
"""Seconds one unary call or one HTTP request may take."""
BASELINE_ATTEMPTS = 3
"""Tries per baseline request when the connection fails (as a pipeline would retry)."""


@dataclass(frozen=True)
class Measurement:
    ids: list[str]
    wall_seconds: float
    """From the first send to the last result."""
    latencies: list[float]
    """Seconds from send to result, one per event."""
    retries: int = 0
    """Requests the load generator sent again after a connection failure."""


class ScenarioFailed(RuntimeError):
    pass


def new_ids(count: int) -> list[str]:
    run = uuid.uuid4().hex[:12]
    return [f"{run}-{index}" for index in range(count)]


async def run_stream(
    stub: service_pb2_grpc.HeapDestinationServiceStub,
    payload: Payload,
    events: int,
    identities: int,
    per_message: int,
    timeout: float,
) -> Measurement:
    ids = new_ids(events)
    messages = payload.stream_messages(ids, identities, per_message)
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

    started = time.perf_counter()
    try:
        await asyncio.gather(write(), read())
    finally:
        call.cancel()  # a no-op once the call ended; ends it on a failure or timeout
    wall = time.perf_counter() - started
    _fail_if(failures, f"{len(failures)} streamed results were not OK")
    missing = [event_id for event_id in ids if event_id not in answered_at]
    _fail_if(missing, f"{len(missing)} of {events} streamed events got no result")
    latencies = [
        max(0.0, answered_at[event_id] - written_at[index // per_message])
        for index, event_id in enumerate(ids)
    ]
    return Measurement(ids, wall, latencies)


async def run_unary(
    stub: service_pb2_grpc.HeapDestinationServiceStub,
    payload: Payload,
    events: int,
    identities: int,
    concurrency: int,
) -> Measurement:
    ids = new_ids(events)
    requests = [
        payload.track_request(user_id(index, identities), event_id)
        for index, event_id in enumerate(ids)
    ]

    async def send(index: int) -> None:
        await stub.TrackEvent(requests[index], timeout=CALL_TIMEOUT)

    return await _in_parallel(ids, concurrency, send)


async def run_baseline(
    heap_url: str, payload: Payload, events: int, identities: int, concurrency: int
) -> Measurement:
    ids = new_ids(events)
    properties = payload.flat_properties()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    retries = 0
    async with httpx.AsyncClient(timeout=CALL_TIMEOUT, limits=limits) as http:

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
                    response = await http.post(f"{heap_url}/api/track", json=body)
                    break
                except httpx.TransportError:
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
            except (grpc.RpcError, httpx.HTTPError) as error:
                failures.append(f"{ids[index]}: {type(error).__name__} {error}")
            latencies[index] = time.perf_counter() - sent

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    _fail_if(failures, f"{len(failures)} of {len(ids)} events failed")
    return Measurement(ids, wall, latencies)


def _fail_if(problems: list[str], message: str) -> None:
    if problems:
        raise ScenarioFailed(f"{message}; first: {problems[0]}")
