"""The load behind the dashboard pictures: a steady benchmark-style load on the service,
with Heap (the simulator) failing partway through.

Every tick, for app MAIN_APP: a StreamEvents call of stored events (ack mode STORED, so
background delivery carries them and the backlog grows while Heap fails); for app
SIDE_APP: TrackEvent calls acknowledged on delivery (they fail while Heap does); and now
and then an invalid event (no event name) and a stored "poison" event that Heap always
answers 400, so that failures and dead letters show. The simulator counts events per app
in a short window, so the drain after the outage meets 429s; the service's own limits (a
little above Heap's per app, and per user) hold some events back.
"""

import asyncio
import collections
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import grpc

from benchmarks import control, scenarios
from benchmarks.env_numbers import env_number
from benchmarks.payloads import PAYLOADS, user_id
from benchmarks.stored import StoredPayload
from heap_destination.v1 import config_pb2, service_pb2_grpc, track_pb2

MAIN_APP = "1234567890"
"""The benchmark payloads' app: stored events."""
SIDE_APP = "2233445566"
"""Events acknowledged on delivery."""
TICK_SECONDS = 0.5
IDENTITIES = 200
"""Users of the stored events."""
SIDE_IDENTITIES = 10
"""Users of the delivered-mode calls, each below the service's per-user limit..."""
BURST_USER = "burst-user"
"""...but for this one, who sends a burst now and then, part of which the limit holds back."""
BURST_TICKS = 30
LIMIT_WINDOW_SECONDS = 10
POISON_USER = "poison-user"
CALL_TIMEOUT = 20.0
"""Seconds a delivered-mode call may wait for Heap (it retries during the outage)."""
STREAM_TIMEOUT = 30.0


@dataclass(frozen=True)
class Plan:
    before_seconds: int
    """Steady load before the outage."""
    outage_seconds: int
    """Heap answers every request 503 for this long."""
    after_seconds: int
    """Steady load after the outage: the backlog drains, into Heap's rate limit."""
    stored_per_second: int
    delivered_per_second: int
    heap_events_per_10s_per_app: int
    """The simulator's rate limit per app, in a 10-second window."""
    service_events_per_10s_per_app: int
    service_events_per_10s_per_identity: int
    """The service's own rate limits (--rate-limit-per-app, -per-identity), 10-second window."""
    burst_events: int
    """Events of BURST_USER every BURST_TICKS."""

    @classmethod
    def from_env(cls) -> "Plan":
        return cls(
            before_seconds=env_number("PICTURES_BEFORE_SECONDS", 20),
            outage_seconds=env_number("PICTURES_OUTAGE_SECONDS", 25),
            after_seconds=env_number("PICTURES_AFTER_SECONDS", 45),
            stored_per_second=env_number("PICTURES_STORED_PER_SECOND", 200),
            delivered_per_second=env_number("PICTURES_DELIVERED_PER_SECOND", 20),
            heap_events_per_10s_per_app=env_number("PICTURES_HEAP_EVENTS_PER_10S", 3_000),
            service_events_per_10s_per_app=env_number("PICTURES_SERVICE_EVENTS_PER_10S", 5_000),
            service_events_per_10s_per_identity=env_number(
                "PICTURES_SERVICE_EVENTS_PER_10S_PER_IDENTITY", 40
            ),
            burst_events=env_number("PICTURES_BURST_EVENTS", 60),
        )

    def service_limits(self) -> list[str]:
        return [
            f"--rate-limit-per-app={self.service_events_per_10s_per_app}",
            f"--rate-limit-per-identity={self.service_events_per_10s_per_identity}",
            f"--rate-limit-window={LIMIT_WINDOW_SECONDS}",
        ]

    def describe(self) -> str:
        return (
            f"{self.stored_per_second} stored events/s (app {MAIN_APP}) and "
            f"{self.delivered_per_second} delivered-mode TrackEvent calls/s (app {SIDE_APP}, "
            f"{SIDE_IDENTITIES} users; one more sends {self.burst_events} at once every "
            f"{BURST_TICKS * TICK_SECONDS:g} s); Heap answers 503 for {self.outage_seconds} s "
            f"from {self.before_seconds} s into the load; rate limits per 10 s: Heap's "
            f"{self.heap_events_per_10s_per_app} events per app, the service's "
            f"{self.service_events_per_10s_per_app} per app and "
            f"{self.service_events_per_10s_per_identity} per user"
        )


@dataclass
class Outcomes:
    """What the load generator saw, by gRPC status code name."""

    codes: collections.Counter[str] = field(default_factory=collections.Counter)
    outage_started: float = 0.0
    """Unix time the outage began (and ends `outage_seconds` later)."""

    def summary(self) -> str:
        return ", ".join(f"{code} {count}" for code, count in sorted(self.codes.items()))


async def set_up_heap(http: aiohttp.ClientSession, heap_url: str, plan: Plan) -> None:
    """Heap's rate limit, and its rejection of every request carrying the poison event."""
    limits = {
        "events_per_minute_per_app": plan.heap_events_per_10s_per_app,
        "window_seconds": LIMIT_WINDOW_SECONDS,
    }
    await control.call(http, "POST", f"{heap_url}/_sim/limits", limits)
    poison = {"status": 400, "body_contains": POISON_USER, "probability": 1.0}
    await control.call(http, "POST", f"{heap_url}/_sim/faults", poison)


async def run(
    stub: service_pb2_grpc.HeapDestinationServiceStub,
    http: aiohttp.ClientSession,
    heap_url: str,
    plan: Plan,
) -> Outcomes:
    outcomes = Outcomes()
    pending: set[asyncio.Task[None]] = set()
    ticks = int((plan.before_seconds + plan.outage_seconds + plan.after_seconds) / TICK_SECONDS)
    outage_tick = int(plan.before_seconds / TICK_SECONDS)
    started = time.monotonic()
    for tick in range(ticks):
        if tick == outage_tick:
            outage = {"status": 503, "seconds": plan.outage_seconds}
            await control.call(http, "POST", f"{heap_url}/_sim/faults", outage)
            outcomes.outage_started = time.time()
        for call in _tick_calls(stub, plan, tick):
            task = asyncio.create_task(_counted(call, outcomes))
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.sleep(max(0.0, started + (tick + 1) * TICK_SECONDS - time.monotonic()))
    await asyncio.gather(*pending)
    return outcomes


def _tick_calls(
    stub: service_pb2_grpc.HeapDestinationServiceStub, plan: Plan, tick: int
) -> list[Coroutine[Any, Any, str]]:
    """The calls one tick starts; each returns its gRPC code's name."""
    stored = int(plan.stored_per_second * TICK_SECONDS)
    calls = [_stored_stream(stub, stored)]
    users = [
        user_id(index, SIDE_IDENTITIES)
        for index in range(int(plan.delivered_per_second * TICK_SECONDS))
    ]
    if tick % BURST_TICKS == BURST_TICKS // 2:
        users += [BURST_USER] * plan.burst_events
    for user in users:
        request = PAYLOADS[0].track_request(user, "")
        request.config.app_id = SIDE_APP
        calls.append(_unary(stub, request))
    if tick % 4 == 0:
        invalid = track_pb2.TrackEventRequest(
            config=config_pb2.DestinationConfig(app_id=SIDE_APP), user_id="someone", event=""
        )
        calls.append(_unary(stub, invalid))
    if tick % 40 == 10:
        poison = StoredPayload.of(PAYLOADS[0]).track_request(POISON_USER, "")
        calls.append(_unary(stub, poison))
    return calls


async def _counted(call: Coroutine[Any, Any, str], outcomes: Outcomes) -> None:
    outcomes.codes[await call] += 1


async def _stored_stream(stub: service_pb2_grpc.HeapDestinationServiceStub, events: int) -> str:
    payload = StoredPayload.of(PAYLOADS[0])
    try:
        await scenarios.run_stream([stub], payload, events, IDENTITIES, events, STREAM_TIMEOUT)
    except scenarios.ScenarioFailed:
        return "STREAM_RESULT_FAILED"
    except grpc.RpcError as error:
        return _code_name(error)
    return "OK"


async def _unary(
    stub: service_pb2_grpc.HeapDestinationServiceStub, request: track_pb2.TrackEventRequest
) -> str:
    try:
        await stub.TrackEvent(request, timeout=CALL_TIMEOUT)
    except grpc.RpcError as error:
        return _code_name(error)
    return "OK"


def _code_name(error: grpc.RpcError) -> str:
    """The code's name; with why, for a refusal (several causes share RESOURCE_EXHAUSTED)."""
    if not isinstance(error, grpc.aio.AioRpcError):
        return "UNKNOWN"
    if error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED:
        return f"{error.code().name} ({(error.details() or '').split(';')[0][:60]})"
    return str(error.code().name)
