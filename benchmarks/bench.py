"""Benchmark: how fast events reach Heap through the service, and what that costs it.

Starts the Heap simulator and the service (rate limits off, so the figures show raw
throughput) as separate processes, then, for the seed's example event and a larger one
of about 50 properties, spread over many identities, measures:

- stream:   one StreamEvents call, events written in messages of BENCH_STREAM_BATCH;
- unary:    TrackEvent calls, BENCH_UNARY_CONCURRENCY in flight;
- baseline: one HTTP request per event straight to the simulator, with properties
            already flat, BENCH_BASELINE_CONCURRENCY in flight (no service involved);

and prints, per scenario and payload, events delivered per second (first send to last
result), p50 and p99 time to result (stream: from the write of the message carrying the
event; unary: the call; baseline: the request), Heap requests per 1000 events, and the
service's peak memory (VmHWM, reset before each scenario), RSS and CPU time. Every
scenario is checked against what the simulator accepted: each event exactly once.

Run with `make bench`; event counts and concurrency come from BENCH_* variables.
"""

import asyncio
import math
import os
import platform
import re
import sys
import tempfile
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx

from benchmarks import heap_record, processes, scenarios
from benchmarks.payloads import PAYLOADS, Payload
from heap_destination.v1 import service_pb2_grpc

BIN = Path(sys.executable).parent
START_TIMEOUT = 30.0
SIMULATOR_READY = re.compile(r"Heap simulator listening on http://[\d.]+:(?P<port>\d+)")
SERVICE_READY = re.compile(r"Heap destination service listening on [\d.]+:(?P<port>\d+)")
SERVICE_RETRY = "retrying Heap request"


@dataclass(frozen=True)
class Config:
    stream_events: int
    stream_batch: int
    unary_events: int
    unary_concurrency: int
    baseline_events: int
    baseline_concurrency: int
    identities: int
    scenario_timeout: float

    @classmethod
    def from_env(cls) -> "Config":
        def number(name: str, default: int) -> int:
            text = os.environ.get(name, str(default))
            if not text.isdigit() or int(text) < 1:
                raise SystemExit(f"{name} must be a whole number of at least 1, not {text!r}")
            return int(text)

        return cls(
            stream_events=number("BENCH_STREAM_EVENTS", 50_000),
            stream_batch=number("BENCH_STREAM_BATCH", 500),
            unary_events=number("BENCH_UNARY_EVENTS", 3_000),
            unary_concurrency=number("BENCH_UNARY_CONCURRENCY", 64),
            baseline_events=number("BENCH_BASELINE_EVENTS", 3_000),
            baseline_concurrency=number("BENCH_BASELINE_CONCURRENCY", 16),
            identities=number("BENCH_IDENTITIES", 1_000),
            scenario_timeout=number("BENCH_SCENARIO_TIMEOUT", 120),
        )


@dataclass(frozen=True)
class Row:
    scenario: str
    payload: str
    events: int
    events_per_second: float
    p50_ms: float
    p99_ms: float
    requests_per_1000: float
    service: processes.Usage | None
    """The service's memory and CPU during the scenario; None when it took no part."""
    retries: int
    """Heap requests sent again: by the service (its log), or by the load generator."""


class Bench:
    def __init__(self, config: Config, heap_url: str, service: processes.Child) -> None:
        self.config = config
        self.heap_url = heap_url
        self.service = service
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{service.port}")
        self.stub = service_pb2_grpc.HeapDestinationServiceStub(self.channel)
        self.http = httpx.AsyncClient()

    async def close(self) -> None:
        await self.channel.close()
        await self.http.aclose()

    async def warm_up(self) -> None:
        """Opens connections on every path once, so no scenario pays for that."""
        payload = PAYLOADS[0]
        await self.stream(payload, events=1_000)
        await self.unary(payload, events=self.config.unary_concurrency)
        await self.baseline(payload, events=self.config.baseline_concurrency)

    async def stream(self, payload: Payload, events: int) -> Row:
        c = self.config
        run = scenarios.run_stream(
            self.stub, payload, events, c.identities, c.stream_batch, c.scenario_timeout
        )
        return await self._measure("stream", payload, run)

    async def unary(self, payload: Payload, events: int) -> Row:
        c = self.config
        run = scenarios.run_unary(self.stub, payload, events, c.identities, c.unary_concurrency)
        return await self._measure("unary", payload, run)

    async def baseline(self, payload: Payload, events: int) -> Row:
        c = self.config
        run = scenarios.run_baseline(
            self.heap_url, payload, events, c.identities, c.baseline_concurrency
        )
        return await self._measure("baseline", payload, run, uses_service=False)

    async def _measure(
        self,
        scenario: str,
        payload: Payload,
        run: Coroutine[Any, Any, scenarios.Measurement],
        uses_service: bool = True,
    ) -> Row:
        """Runs one scenario from a clear simulator and checks what reached Heap."""
        await heap_record.clear(self.http, self.heap_url)
        processes.reset_peak(self.service.pid)
        cpu_before = processes.usage(self.service.pid).cpu_seconds
        retries_before = self.service.log_count(SERVICE_RETRY)
        measured = await asyncio.wait_for(run, self.config.scenario_timeout)
        after = processes.usage(self.service.pid)
        service_retries = self.service.log_count(SERVICE_RETRY) - retries_before
        requests = await heap_record.check_delivered(
            self.http, self.heap_url, measured.ids, set(payload.flat_properties())
        )
        events = len(measured.ids)
        used = processes.Usage(after.peak_mb, after.rss_mb, after.cpu_seconds - cpu_before)
        return Row(
            scenario,
            payload.name,
            events,
            events / measured.wall_seconds,
            percentile(measured.latencies, 50) * 1000,
            percentile(measured.latencies, 99) * 1000,
            requests / events * 1000,
            used if uses_service else None,
            service_retries + measured.retries,
        )


def percentile(values: list[float], percent: float) -> float:
    """Nearest-rank percentile."""
    ranked = sorted(values)
    return ranked[max(0, math.ceil(len(ranked) * percent / 100) - 1)]


async def run_all(
    config: Config, heap_url: str, service: processes.Child
) -> tuple[list[Row], float]:
    """Every scenario's row, and the service's RSS (MB) once warmed up."""
    bench = Bench(config, heap_url, service)
    try:
        await bench.warm_up()
        warm_rss_mb = processes.usage(service.pid).rss_mb
        rows = [await bench.stream(p, config.stream_events) for p in PAYLOADS]
        rows += [await bench.unary(p, config.unary_events) for p in PAYLOADS]
        rows += [await bench.baseline(p, config.baseline_events) for p in PAYLOADS]
        return rows, warm_rss_mb
    finally:
        await bench.close()


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    return (
        f"machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), "
        f"{model[1] if model else 'unknown CPU'}, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def report(config: Config, rows: list[Row], warm_rss_mb: float, seconds: float) -> None:
    print(machine())
    print(
        f"config: stream {config.stream_events} events in messages of {config.stream_batch}; "
        f"unary {config.unary_events} events, {config.unary_concurrency} in flight; "
        f"baseline {config.baseline_events} events, {config.baseline_concurrency} in flight; "
        f"{config.identities} identities"
    )
    for payload in PAYLOADS:
        print(
            f"payload {payload.name}: event {payload.event!r}, "
            f"{len(payload.flat_properties())} flat properties"
        )
    print()
    header = (
        f"{'scenario':<9} {'payload':<7} {'events':>7} {'events/s':>9} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'Heap req/1k ev':>14} {'svc peak MB':>11} {'svc RSS MB':>10} "
        f"{'svc CPU s':>9} {'retries':>7}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        service = row.service
        print(
            f"{row.scenario:<9} {row.payload:<7} {row.events:>7} {row.events_per_second:>9.0f} "
            f"{row.p50_ms:>8.1f} {row.p99_ms:>8.1f} {row.requests_per_1000:>14.1f} "
            f"{f'{service.peak_mb:.1f}' if service else 'n/a':>11} "
            f"{f'{service.rss_mb:.1f}' if service else 'n/a':>10} "
            f"{f'{service.cpu_seconds:.1f}' if service else 'n/a':>9} {row.retries:>7}"
        )
    print(
        "time to result: stream, from the write of the message carrying the event; "
        "unary, the call; baseline, the HTTP request"
    )
    print()
    for payload in PAYLOADS:
        speed = {r.scenario: r.events_per_second for r in rows if r.payload == payload.name}
        print(
            f"stream/baseline throughput, {payload.name}: "
            f"{speed['stream'] / speed['baseline']:.1f}x"
        )
    print(f"service RSS after warm-up, before the scenarios: {warm_rss_mb:.1f} MB")
    print("every event verified: Heap (the simulator) accepted each exactly once")
    print(f"total {seconds:.0f} s")


def main() -> int:
    config = Config.from_env()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="heap-bench-") as scratch:
        logs = Path(scratch)
        simulate = [str(BIN / "heap-destination"), "simulate", "--listen", "127.0.0.1:0"]
        with processes.child(simulate, logs / "sim.log", SIMULATOR_READY, START_TIMEOUT) as sim:
            heap_url = f"http://127.0.0.1:{sim.port}"
            serve = [
                str(BIN / "heap-destination"),
                "serve",
                "--listen=127.0.0.1:0",
                f"--base-url={heap_url}",
                "--rate-limit-per-app=0",
                "--rate-limit-per-identity=0",
            ]
            with processes.child(serve, logs / "svc.log", SERVICE_READY, START_TIMEOUT) as svc:
                try:
                    rows, warm_rss_mb = asyncio.run(run_all(config, heap_url, svc))
                except Exception:
                    print(f"service log (last lines):\n{svc.log_tail()}", file=sys.stderr)
                    raise
    report(config, rows, warm_rss_mb, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
