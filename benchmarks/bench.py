"""Benchmark: how fast events reach Heap through the service, and what that costs it.

Starts the Heap simulator and the service (rate limits off, so the figures show raw
throughput) as separate processes, then, for Heap's flattening example event and a larger one
of about 50 properties, spread over many identities, measures:

- stream:   one StreamEvents call, events written in messages of BENCH_STREAM_BATCH;
- unary:    TrackEvent calls, BENCH_UNARY_CONCURRENCY in flight;
- baseline: one HTTP request per event straight to the simulator, with properties
            already flat, BENCH_BASELINE_CONCURRENCY in flight (no service involved);

and prints, per scenario and payload, events delivered per second (first send to last
result), p50 and p99 time to result (stream: from the write of the message carrying the
event; unary: the call; baseline: the request), Heap requests per 1000 events, and the
service's memory (a fresh, warmed-up service process for each: its RSS before, peak
VmHWM during, RSS after) and CPU time. Every scenario is checked against what the
simulator accepted: each event exactly once. The simulator answers every request after
BENCH_HEAP_LATENCY_MS (20 ms by default: a short internet round trip to Heap; 0 measures
loopback only).

Then it compares 1 and 2 worker processes (`--workers N`) under the same load of the
the example event over four connections: BENCH_WORKERS_STREAM_EVENTS in four concurrent
StreamEvents calls, BENCH_WORKERS_UNARY_EVENTS in TrackEvent calls (see workers.py).

With BENCH_COMPARE_WITH naming another checkout of this repository (say, a `git worktree`
of an older commit), the stream rows also run on that checkout's service, set up with its
own `make setup`, against the same simulator in the same run, and the ratios are printed.

Run with `make bench`; event counts and concurrency come from BENCH_* variables.
"""

import asyncio
import dataclasses
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import grpc

from benchmarks import control, floors, heap_record, processes, scenarios, workers
from benchmarks.env_numbers import env_number
from benchmarks.payloads import PAYLOADS, Payload
from heap_destination.v1 import service_pb2_grpc

START_TIMEOUT = processes.START_TIMEOUT


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
    heap_latency_ms: int
    workers_stream_events: int
    workers_unary_events: int
    compare_with: Path | None
    """Another checkout whose service the stream rows also run on."""

    @classmethod
    def from_env(cls) -> "Config":
        return cls(
            stream_events=env_number("BENCH_STREAM_EVENTS", 50_000),
            stream_batch=env_number("BENCH_STREAM_BATCH", 500),
            unary_events=env_number("BENCH_UNARY_EVENTS", 3_000),
            unary_concurrency=env_number("BENCH_UNARY_CONCURRENCY", 64),
            baseline_events=env_number("BENCH_BASELINE_EVENTS", 3_000),
            baseline_concurrency=env_number("BENCH_BASELINE_CONCURRENCY", 16),
            identities=env_number("BENCH_IDENTITIES", 1_000),
            scenario_timeout=env_number("BENCH_SCENARIO_TIMEOUT", 120),
            heap_latency_ms=env_number("BENCH_HEAP_LATENCY_MS", 20, least=0),
            workers_stream_events=env_number("BENCH_WORKERS_STREAM_EVENTS", 40_000),
            workers_unary_events=env_number("BENCH_WORKERS_UNARY_EVENTS", 4_000),
            compare_with=Path(other) if (other := os.environ.get("BENCH_COMPARE_WITH")) else None,
        )

    def workers_plan(self) -> workers.Plan:
        return workers.Plan(
            self.workers_stream_events,
            self.workers_unary_events,
            self.stream_batch,
            self.unary_concurrency,
            self.identities,
            self.scenario_timeout,
        )


@dataclass(frozen=True)
class ServiceUse:
    """The service process during one scenario (a fresh process for each)."""

    base_mb: float
    """RSS once started and warmed up, before the scenario."""
    peak_mb: float
    """Peak RSS (VmHWM) during the scenario."""
    after_mb: float
    """RSS after the scenario."""
    cpu_seconds: float


@dataclass(frozen=True)
class Row:
    scenario: str
    payload: str
    events: int
    events_per_second: float
    p50_ms: float
    p99_ms: float
    requests_per_1000: float
    service: ServiceUse | None
    """None when the service took no part (the baseline)."""
    retries: int
    """Heap requests sent again: by the service (its log), or by the load generator."""
    floor_us: float | None = None
    """CPU µs per event of this path's floor (see floors.py), measured in the same run."""

    @property
    def floor_multiple(self) -> float | None:
        if self.service is None or not self.floor_us:
            return None
        return self.service.cpu_seconds / self.events * 1e6 / self.floor_us


class ServiceMeter:
    """Measures the service process over one scenario, from construction to read()."""

    def __init__(self, service: processes.Child) -> None:
        self._service = service
        processes.reset_peak(service.pid)
        self._before = processes.usage(service.pid)
        self._retries_before = service.log_count(processes.SERVICE_RETRY)

    def read(self) -> tuple[ServiceUse, int]:
        """The service's use, and how many Heap requests it retried."""
        after = processes.usage(self._service.pid)
        cpu = after.cpu_seconds - self._before.cpu_seconds
        retries = self._service.log_count(processes.SERVICE_RETRY) - self._retries_before
        return ServiceUse(self._before.rss_mb, after.peak_mb, after.rss_mb, cpu), retries


class Bench:
    """Runs scenarios against one simulator, each service scenario on a fresh service."""

    def __init__(self, config: Config, heap_url: str, logs: Path) -> None:
        self.config = config
        self.heap_url = heap_url
        self.logs = logs
        self.http = control.control_session()

    async def close(self) -> None:
        await self.http.close()

    async def through_service(
        self, scenario: str, payload: Payload, checkout: Path | None = None
    ) -> Row:
        """Runs `scenario` ("stream" or "unary") on a service process of its own: this
        checkout's, or `checkout`'s (its row's scenario is then "SCENARIO@other")."""
        bin_dir = processes.BIN if checkout is None else checkout / ".venv" / "bin"
        serve = processes.serve_command(self.heap_url, bin_dir=bin_dir)
        label = scenario if checkout is None else f"{scenario}@other"
        log = self.logs / f"service-{label}-{payload.name}.log"
        with processes.child(serve, log, processes.SERVICE_READY, START_TIMEOUT) as service:
            try:
                async with grpc.aio.insecure_channel(f"127.0.0.1:{service.port}") as channel:
                    stub = service_pb2_grpc.HeapDestinationServiceStub(channel)
                    c = self.config
                    await scenarios.warm_up(
                        [stub], c.identities, c.stream_batch, c.unary_concurrency
                    )
                    return await self._measure(
                        label, payload, self._run(scenario, stub, payload), service
                    )
            except Exception:
                print(f"service log (last lines):\n{service.log_tail()}", file=sys.stderr)
                raise

    async def unary_floor(self, payload: Payload, hold_ms: float = 0.0) -> floors.UnaryFloor:
        c = self.config
        return await floors.unary_floor(
            payload, c.unary_events, c.identities, c.unary_concurrency, self.logs, hold_ms
        )

    def stream_floor(self, payload: Payload) -> floors.StreamFloor:
        c = self.config
        return floors.stream_floor(payload, c.stream_events, c.identities, c.stream_batch)

    async def baseline(self, payload: Payload) -> Row:
        c = self.config
        run = scenarios.run_baseline(
            self.heap_url, payload, c.baseline_events, c.identities, c.baseline_concurrency
        )
        return await self._measure("baseline", payload, run, None)

    def _run(
        self, scenario: str, stub: service_pb2_grpc.HeapDestinationServiceStub, payload: Payload
    ) -> Coroutine[Any, Any, scenarios.Measurement]:
        c = self.config
        if scenario == "stream":
            return scenarios.run_stream(
                [stub], payload, c.stream_events, c.identities, c.stream_batch, c.scenario_timeout
            )
        return scenarios.run_unary(
            [stub], payload, c.unary_events, c.identities, c.unary_concurrency
        )

    async def _measure(
        self,
        scenario: str,
        payload: Payload,
        run: Coroutine[Any, Any, scenarios.Measurement],
        service: processes.Child | None,
    ) -> Row:
        """Runs one scenario from a clear simulator and checks what reached Heap."""
        await heap_record.clear(self.http, self.heap_url)
        meter = ServiceMeter(service) if service is not None else None
        measured = await asyncio.wait_for(run, self.config.scenario_timeout)
        use, service_retries = meter.read() if meter is not None else (None, 0)
        requests = await heap_record.check_delivered(
            self.http, self.heap_url, measured.ids, set(payload.flat_properties())
        )
        events = len(measured.ids)
        return Row(
            scenario,
            payload.name,
            events,
            events / measured.wall_seconds,
            scenarios.percentile(measured.latencies, 50) * 1000,
            scenarios.percentile(measured.latencies, 99) * 1000,
            requests / events * 1000,
            use,
            service_retries + measured.retries,
        )


@dataclass(frozen=True)
class Floors:
    """Per payload, in PAYLOADS' order."""

    unary: list[floors.UnaryFloor]
    stream: list[floors.StreamFloor]
    held_unary: list[floors.UnaryFloor]
    """The unary floor holding each call as long as the service's median unary call."""

    def per_event_us(self, scenario: str, payload: str) -> float | None:
        index = next(i for i, p in enumerate(PAYLOADS) if p.name == payload)
        if scenario.startswith("stream"):
            return self.stream[index].cpu_us_per_event
        if scenario == "unary":
            return self.unary[index].cpu_us_per_call
        return None


async def run_all(
    config: Config, heap_url: str, logs: Path
) -> tuple[list[Row], Floors, list[workers.WorkersRow]]:
    bench = Bench(config, heap_url, logs)
    if config.heap_latency_ms:
        # Heap is across the internet: every request to it costs at least a round trip.
        fault = {"latency_ms": config.heap_latency_ms, "probability": 1.0}
        await control.call(bench.http, "POST", f"{heap_url}/_sim/faults", fault)
    try:
        unary_floors = [await bench.unary_floor(payload) for payload in PAYLOADS]
        stream_floors = [bench.stream_floor(payload) for payload in PAYLOADS]
        rows = [
            await bench.through_service(scenario, payload)
            for scenario in ("stream", "unary")
            for payload in PAYLOADS
        ]
        held = [
            await bench.unary_floor(payload, _row(rows, "unary", payload).p50_ms)
            for payload in PAYLOADS
        ]
        measured_floors = Floors(unary_floors, stream_floors, held)
        rows += [await bench.baseline(payload) for payload in PAYLOADS]
        if config.compare_with is not None:
            # Its own virtual environment, pinned dependencies and generated code.
            subprocess.run(["make", "-C", str(config.compare_with), "setup"], check=True)
            rows += [
                await bench.through_service("stream", payload, config.compare_with)
                for payload in PAYLOADS
            ]
        rows = [
            dataclasses.replace(
                row, floor_us=measured_floors.per_event_us(row.scenario, row.payload)
            )
            for row in rows
        ]
        plan = config.workers_plan()
        return rows, measured_floors, await workers.compare(heap_url, bench.http, logs, plan)
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


def report(
    config: Config,
    rows: list[Row],
    found_floors: Floors,
    worker_rows: list[workers.WorkersRow],
    seconds: float,
) -> None:
    print(machine())
    print(
        f"config: stream {config.stream_events} events in messages of {config.stream_batch}; "
        f"unary {config.unary_events} events, {config.unary_concurrency} in flight; "
        f"baseline {config.baseline_events} events, {config.baseline_concurrency} in flight; "
        f"{config.identities} identities; "
        f"the simulator answers each request after {config.heap_latency_ms} ms "
        "(BENCH_HEAP_LATENCY_MS)"
    )
    for payload in PAYLOADS:
        print(
            f"payload {payload.name}: event {payload.event!r}, "
            f"{len(payload.flat_properties())} flat properties"
        )
    print()
    header = (
        f"{'scenario':<9} {'payload':<7} {'events':>7} {'events/s':>9} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'Heap req/1k ev':>14} {'svc peak MB':>11} {'svc base MB':>11} "
        f"{'svc after MB':>12} {'svc CPU s':>9} {'CPU µs/ev':>9} {'x floor':>7} {'retries':>7}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        use = row.service
        print(
            f"{row.scenario:<9} {row.payload:<7} {row.events:>7} {row.events_per_second:>9.0f} "
            f"{row.p50_ms:>8.1f} {row.p99_ms:>8.1f} {row.requests_per_1000:>14.1f} "
            f"{f'{use.peak_mb:.1f}' if use else 'n/a':>11} "
            f"{f'{use.base_mb:.1f}' if use else 'n/a':>11} "
            f"{f'{use.after_mb:.1f}' if use else 'n/a':>12} "
            f"{f'{use.cpu_seconds:.1f}' if use else 'n/a':>9} "
            f"{f'{use.cpu_seconds / row.events * 1e6:.0f}' if use else 'n/a':>9} "
            f"{f'{multiple:.2f}' if (multiple := row.floor_multiple) else 'n/a':>7} "
            f"{row.retries:>7}"
        )
    print(
        "time to result: stream, from the write of the message carrying the event; "
        "unary, the call; baseline, the HTTP request"
    )
    print(
        "svc: a fresh service process per row; base = RSS once warmed up, "
        "peak = VmHWM during the row, after = RSS at its end"
    )
    print("x floor: the service's CPU per event over its path's floor, measured in this run:")
    for payload, unary, stream, held in zip(
        PAYLOADS, found_floors.unary, found_floors.stream, found_floors.held_unary, strict=True
    ):
        unary_row = _row(rows, "unary", payload)
        print(
            f"  {payload.name}: unary floor (a bare grpc.aio servicer, the same load) "
            f"{unary.cpu_us_per_call:.0f} µs/call at {unary.calls_per_second:.0f} calls/s "
            f"(unary row: {unary_row.events_per_second / unary.calls_per_second:.0%} of its "
            f"calls/s); stream floor (decode messages, encode bulk bodies) "
            f"{stream.cpu_us_per_event:.1f} µs/ev"
        )
        print(
            f"  {payload.name}: the unary floor holding each call {held.hold_ms:.0f} ms (the "
            f"unary row's p50) {held.cpu_us_per_call:.0f} µs/call at "
            f"{held.calls_per_second:.0f} calls/s; the unary row "
            f"{_cpu_per_event(unary_row) * 1e6 / held.cpu_us_per_call:.2f}x its CPU per call, "
            f"{unary_row.events_per_second / held.calls_per_second:.0%} of its calls/s"
        )
    print()
    for payload in PAYLOADS:
        speed = {r.scenario: r.events_per_second for r in rows if r.payload == payload.name}
        print(
            f"stream/baseline throughput, {payload.name}: "
            f"{speed['stream'] / speed['baseline']:.1f}x"
        )
    if config.compare_with is not None:
        commit = subprocess.run(
            ["git", "-C", str(config.compare_with), "log", "-1", "--format=%h %ad", "--date=short"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        for payload in PAYLOADS:
            now, other = (
                next(r for r in rows if r.scenario == name and r.payload == payload.name)
                for name in ("stream", "stream@other")
            )
            print(
                f"stream, {payload.name}, against {config.compare_with} ({commit}): "
                f"{now.events_per_second / other.events_per_second:.2f}x the events/s, "
                f"{_cpu_per_event(now) / _cpu_per_event(other):.2f}x the CPU per event"
            )
    print()
    workers.report(config.workers_plan(), worker_rows)
    print()
    print("every event verified: Heap (the simulator) accepted each exactly once")
    print(f"total {seconds:.0f} s")


def _row(rows: list[Row], scenario: str, payload: Payload) -> Row:
    return next(r for r in rows if r.scenario == scenario and r.payload == payload.name)


def _cpu_per_event(row: Row) -> float:
    return row.service.cpu_seconds / row.events if row.service else float("nan")


def _exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # so the child processes are stopped on the way out


def main() -> int:
    signal.signal(signal.SIGTERM, _exit)
    config = Config.from_env()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="heap-bench-") as scratch:
        logs = Path(scratch)
        simulate = [str(processes.BIN / "heap-destination"), "simulate", "--listen", "127.0.0.1:0"]
        ready = processes.SIMULATOR_READY
        with processes.child(simulate, logs / "sim.log", ready, START_TIMEOUT) as sim:
            heap_url = f"http://127.0.0.1:{sim.port}"
            rows, found_floors, worker_rows = asyncio.run(run_all(config, heap_url, logs))
    report(config, rows, found_floors, worker_rows, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
