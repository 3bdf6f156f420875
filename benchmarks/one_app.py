"""Benchmark: one app past Heap's bulk cap, with the budget scheduler and without it.

Starts the simulator enforcing Heap's documented limits (15,000 events per minute per
app and 1,000 per identity in bulk, 30 single-event requests per 30 s per identity),
then, for a fresh service with the scheduler on, one with it off (bulk only), and one
with the scheduler on in ack mode STORED (a fresh SQLite store), offers one
StreamEvents call ONE_APP_RATE events per second (2,000) over ONE_APP_IDENTITIES
identities (10,000) for ONE_APP_SECONDS (60), and prints:

- the delivered rate: events answered OK by the end of the offer (plus one second for
  the last answers; in ack mode STORED, events Heap holds by then), per second of offer,
  and its share of the offered rate (goal 90%);
- the share of 429s among the track requests Heap received (goal at most 1%);
- Heap requests per 1,000 delivered events;
- the CPU time (user plus system) per Heap track request of the service and, apart from
  it, of the simulator, measured from /proc over the offer: the two share the machine, and
  the simulator's cost is not the service's.

ONE_APP_WINDOW (60) scales Heap's minute, and the bulk limits with it, for shorter runs;
the single-event request limit stays as Heap documents it. The simulator answers each
request after BENCH_HEAP_LATENCY_MS (20). The service may have ONE_APP_MAX_REQUESTS (128)
requests to Heap out at once: at 20 ms each, its default of 16 caps it at 800 requests
per second, and on a busy CPU a request takes longer than Heap's 20 ms. Run with
`make bench-one-app` (also part of `make bench`).
"""

import asyncio
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import grpc
from google.rpc import code_pb2

from benchmarks import control, processes
from benchmarks.bench import machine
from benchmarks.env_numbers import env_number
from heap_destination.v1 import config_pb2, service_pb2_grpc, stream_pb2, track_pb2

APP_ID = "1234567890"
PER_MESSAGE = 100
ANSWER_GRACE = 1.0
"""Seconds after the offer ends that answers still count as delivered in time."""


@dataclass(frozen=True)
class Config:
    rate: int
    identities: int
    seconds: int
    window: int
    latency_ms: int
    max_requests: int

    @classmethod
    def from_env(cls) -> "Config":
        return cls(
            rate=env_number("ONE_APP_RATE", 2_000),
            identities=env_number("ONE_APP_IDENTITIES", 10_000),
            seconds=env_number("ONE_APP_SECONDS", 60),
            window=env_number("ONE_APP_WINDOW", 60),
            latency_ms=env_number("BENCH_HEAP_LATENCY_MS", 20, least=0),
            max_requests=env_number("ONE_APP_MAX_REQUESTS", 128),
        )

    def heap_limits(self) -> dict[str, object]:
        scale = self.window / 60
        return {
            "events_per_minute_per_app": round(15_000 * scale),
            "events_per_minute_per_identity": round(1_000 * scale),
            "requests_per_30s_per_identity": 30,
            "window_seconds": self.window,
        }


@dataclass(frozen=True)
class Row:
    mode: str
    offered: int
    delivered: int
    seconds: float
    requests: int
    throttled: int
    service_cpu_seconds: float
    simulator_cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.delivered / self.seconds

    def cpu_us_per_request(self, cpu_seconds: float) -> float:
        return cpu_seconds / self.requests * 1e6 if self.requests else float("nan")


def serve_command(
    config: Config, heap_url: str, scheduler: bool, store: Path | None = None
) -> list[str]:
    """With `store`, in ack mode STORED on a SQLite store at that path."""
    limits = config.heap_limits()
    stored = ["--store", f"sqlite:{store}", "--ack-mode", "stored"] if store else []
    return [
        str(processes.BIN / "heap-destination"),
        "serve",
        "--listen=127.0.0.1:0",
        f"--base-url={heap_url}",
        f"--rate-limit-per-app={limits['events_per_minute_per_app']}",
        f"--rate-limit-per-identity={limits['events_per_minute_per_identity']}",
        f"--rate-limit-window={config.window}",
        f"--single-event-requests={'true' if scheduler else 'false'}",
        f"--max-requests-to-heap={config.max_requests}",
        "--grace-period=0",
        "--metrics-listen=off",
        *stored,
    ]


async def offer(config: Config, target: str) -> tuple[int, int]:
    """Offers the events at the configured rate for the configured time; returns how many
    were offered and how many Heap accepted in time."""
    offered = config.rate * config.seconds
    ok = 0
    started = time.monotonic()
    ends = started + config.seconds

    async def messages() -> AsyncIterator[stream_pb2.StreamEventsRequest]:
        for first in range(0, offered, PER_MESSAGE):
            due = started + first / config.rate
            if time.monotonic() >= ends:
                return
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            yield _message(first, config.identities)

    async with grpc.aio.insecure_channel(target) as channel:
        call = service_pb2_grpc.HeapDestinationServiceStub(channel).StreamEvents(messages())

        async def read() -> None:
            nonlocal ok
            async for response in call:
                ok += sum(result.code == code_pb2.OK for result in response.results)

        try:
            await asyncio.wait_for(read(), ends + ANSWER_GRACE - time.monotonic())
        except TimeoutError:
            call.cancel()
    return offered, ok


def _message(first: int, identities: int) -> stream_pb2.StreamEventsRequest:
    events = [
        stream_pb2.Event(
            id=str(index),
            track=track_pb2.TrackEventRequest(
                event="Viewed",
                user_id=f"user-{index % identities}",
                message_id=f"m-{index}",
            ),
        )
        for index in range(first, first + PER_MESSAGE)
    ]
    for event in events:
        event.track.properties.update({"n": int(event.id), "plan": "pro"})
    return stream_pb2.StreamEventsRequest(
        events=events, config=config_pb2.DestinationConfig(app_id=APP_ID)
    )


async def run_mode(
    config: Config,
    heap_url: str,
    simulator_pid: int,
    logs: Path,
    scheduler: bool,
    stored: bool = False,
) -> Row:
    mode = "stored" if stored else "scheduler" if scheduler else "bulk only"
    async with control.control_session() as http:
        await control.call(http, "DELETE", f"{heap_url}/_sim/requests")
        # A fresh window: what the previous run left counted must not count here.
        await control.call(http, "POST", f"{heap_url}/_sim/limits", config.heap_limits())
        store = logs / f"store-{mode.replace(' ', '-')}.db" if stored else None
        command = serve_command(config, heap_url, scheduler, store)
        log = logs / f"service-{mode.replace(' ', '-')}.log"
        with processes.child(command, log, processes.SERVICE_READY, processes.START_TIMEOUT) as svc:
            service_before = processes.usage(svc.pid).cpu_seconds
            simulator_before = processes.usage(simulator_pid).cpu_seconds
            offered, delivered = await offer(config, f"127.0.0.1:{svc.port}")
            service_cpu = processes.usage(svc.pid).cpu_seconds - service_before
            simulator_cpu = processes.usage(simulator_pid).cpu_seconds - simulator_before
            if stored:
                delivered = await _events_in_heap(http, heap_url)
        attempts = await control.get_json(http, f"{heap_url}/_sim/attempts")
    statuses = Counter(a["status"] for a in attempts if a["path"] == "/api/track")
    requests = sum(statuses.values())
    return Row(
        mode,
        offered,
        delivered,
        config.seconds,
        requests,
        statuses[429],
        service_cpu,
        simulator_cpu,
    )


async def _events_in_heap(http: aiohttp.ClientSession, heap_url: str) -> int:
    """Distinct track events Heap accepted, in bulk or single-event requests."""
    accepted = await control.get_json(http, f"{heap_url}/_sim/requests")
    keys = {
        event["idempotency_key"]
        for request in accepted
        if request["path"] == "/api/track"
        for event in request["body"].get("events", [request["body"]])
    }
    return len(keys)


def report(config: Config, rows: list[Row]) -> None:
    print(machine())
    limits = config.heap_limits()
    print(
        f"one app, {config.identities} identities, {config.rate} events/s offered for "
        f"{config.seconds} s; Heap's limits: {limits['events_per_minute_per_app']} events "
        f"per {config.window} s per app and {limits['events_per_minute_per_identity']} per "
        f"identity in bulk, 30 single-event requests per 30 s per identity; "
        f"{config.latency_ms} ms per Heap request; --max-requests-to-heap "
        f"{config.max_requests}"
    )
    header = (
        f"{'mode':<10} {'offered':>8} {'delivered':>9} {'events/s':>9} {'of offered':>10} "
        f"{'requests':>8} {'429s':>6} {'429 share':>9} {'req/1k ev':>9} "
        f"{'svc CPU µs/req':>14} {'sim CPU µs/req':>14}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        offered_rate = row.offered / row.seconds
        per_thousand = row.requests / row.delivered * 1000 if row.delivered else float("nan")
        share = row.throttled / row.requests if row.requests else 0.0
        print(
            f"{row.mode:<10} {row.offered:>8} {row.delivered:>9} {row.rate:>9.0f} "
            f"{row.rate / offered_rate:>10.1%} {row.requests:>8} {row.throttled:>6} "
            f"{share:>9.2%} {per_thousand:>9.1f} "
            f"{row.cpu_us_per_request(row.service_cpu_seconds):>14.0f} "
            f"{row.cpu_us_per_request(row.simulator_cpu_seconds):>14.0f}"
        )
    print("goals (scheduler): delivered >= 90% of offered, 429s <= 1% of requests")
    print("stored: delivered = events Heap held when the offer (plus one second) ended")
    print(
        "CPU µs/req: user plus system CPU of each process over the offer, per track request "
        "Heap received (the service's, then the simulator's, apart)"
    )


async def run_all(config: Config, heap_url: str, simulator_pid: int, logs: Path) -> list[Row]:
    if config.latency_ms:
        fault = {"latency_ms": config.latency_ms, "probability": 1.0}
        async with control.control_session() as http:
            await control.call(http, "POST", f"{heap_url}/_sim/faults", fault)
    return [
        await run_mode(config, heap_url, simulator_pid, logs, scheduler=True),
        await run_mode(config, heap_url, simulator_pid, logs, scheduler=False),
        await run_mode(config, heap_url, simulator_pid, logs, scheduler=True, stored=True),
    ]


def main() -> int:
    config = Config.from_env()
    with tempfile.TemporaryDirectory(prefix="heap-bench-one-app-") as scratch:
        logs = Path(scratch)
        simulate = [str(processes.BIN / "heap-destination"), "simulate", "--listen", "127.0.0.1:0"]
        ready = processes.SIMULATOR_READY
        with processes.child(simulate, logs / "sim.log", ready, processes.START_TIMEOUT) as sim:
            rows = asyncio.run(run_all(config, f"http://127.0.0.1:{sim.port}", sim.pid, logs))
    report(config, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
