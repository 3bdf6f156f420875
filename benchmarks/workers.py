"""Workers comparison: the same load on a service with 1 and with 2 worker processes.

For each worker count, a fresh service (`--workers N`: N processes on one port with
SO_REUSEPORT) gets the example payload over CONNECTIONS connections, each its own channel:

- STREAM: one StreamEvents call per connection, all at once;
- UNARY:  TrackEvent calls over the connections in turn, a fixed number in flight in all.

The kernel gives each new connection to a worker by a hash of its addresses, so four
connections land 2+2 on two workers only 3 times in 8. As many clients would, each worker
gets the same share here: a connection that lands on a worker already holding its share is
left open, idle, and another one opened.
"""

import asyncio
import contextlib
import math
import os
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import grpc

from benchmarks import heap_record, processes, scenarios
from benchmarks.payloads import PAYLOADS
from heap_destination.v1 import service_pb2_grpc

WORKER_COUNTS = (1, 2)
CONNECTIONS = 4
CONNECTION_TRIES = 40
ESTABLISHED, LISTENING = "01", "0A"  # TCP states in /proc/net/tcp
PAYLOAD = PAYLOADS[0]  # Heap's flattening example
STREAM = f"stream\N{MULTIPLICATION SIGN}{CONNECTIONS}"
UNARY = f"unary\N{MULTIPLICATION SIGN}{CONNECTIONS}"

Stub = service_pb2_grpc.HeapDestinationServiceStub


@dataclass(frozen=True)
class Plan:
    stream_events: int
    unary_events: int
    per_message: int
    concurrency: int
    """Unary calls in flight, over all connections."""
    identities: int
    timeout: float


@dataclass(frozen=True)
class WorkersRow:
    workers: int
    scenario: str
    events: int
    events_per_second: float
    p50_ms: float
    p99_ms: float
    service_cpu: float
    """CPU seconds of the service's processes (parent and workers) during the row."""
    generator_cpu: float
    """CPU seconds of the load generator (this process) from first send to last result."""
    machine_cpu: float
    """CPU seconds of every process on the machine over the same time."""
    wall_seconds: float
    peak_mb: tuple[float, ...]
    """Peak RSS (VmHWM) of each worker during the row."""
    connections: tuple[int, ...]
    """Connections on each worker."""
    retries: int
    """Heap requests the service sent again."""


@dataclass(frozen=True)
class _Service:
    child: processes.Child
    tree: list[int]
    """The parent and all its descendants (with workers: the workers, a resource tracker)."""
    workers: list[int]
    """The processes serving gRPC: those listening on the port."""

    def cpu_seconds(self) -> float:
        return sum(processes.usage(pid).cpu_seconds for pid in self.tree)


async def compare(
    heap_url: str, http: aiohttp.ClientSession, logs: Path, plan: Plan
) -> list[WorkersRow]:
    rows: list[WorkersRow] = []
    for count in WORKER_COUNTS:
        serve = processes.serve_command(heap_url, count)
        log = logs / f"service-workers-{count}.log"
        ready, timeout = processes.SERVICE_READY, processes.START_TIMEOUT
        with processes.child(serve, log, ready, timeout, count) as child:
            try:
                rows += await _measure_service(child, count, heap_url, http, plan)
            except Exception:
                print(f"service log (last lines):\n{child.log_tail()}", file=sys.stderr)
                raise
    return rows


async def _measure_service(
    child: processes.Child, count: int, heap_url: str, http: aiohttp.ClientSession, plan: Plan
) -> list[WorkersRow]:
    tree = processes.process_tree(child.pid)
    workers = [pid for pid in tree if processes.tcp_sockets(pid, child.port, LISTENING)]
    if len(workers) != count:
        raise RuntimeError(f"{len(workers)} processes listen on port {child.port}, not {count}")
    service = _Service(child, tree, workers)
    async with contextlib.AsyncExitStack() as channels:
        stubs, connections = await _spread_connections(channels, child.port, workers)
        await scenarios.warm_up(stubs, plan.identities, plan.per_message, plan.concurrency)
        runs: dict[str, Callable[[], Coroutine[Any, Any, scenarios.Measurement]]] = {
            STREAM: lambda: scenarios.run_stream(
                stubs, PAYLOAD, plan.stream_events, plan.identities, plan.per_message, plan.timeout
            ),
            UNARY: lambda: scenarios.run_unary(
                stubs, PAYLOAD, plan.unary_events, plan.identities, plan.concurrency
            ),
        }
        rows = []
        for scenario, run in runs.items():
            # Runs one scenario from a clear simulator and checks what reached Heap.
            await heap_record.clear(http, heap_url)
            for pid in workers:
                processes.reset_peak(pid)
            cpu_before = service.cpu_seconds()
            retries_before = child.log_count(processes.SERVICE_RETRY)
            measured = await asyncio.wait_for(run(), plan.timeout)
            service_cpu = service.cpu_seconds() - cpu_before
            retries = child.log_count(processes.SERVICE_RETRY) - retries_before
            peaks = tuple(processes.usage(pid).peak_mb for pid in workers)
            await heap_record.check_delivered(
                http, heap_url, measured.ids, set(PAYLOAD.flat_properties())
            )
            rows.append(
                WorkersRow(
                    count,
                    scenario,
                    len(measured.ids),
                    len(measured.ids) / measured.wall_seconds,
                    scenarios.percentile(measured.latencies, 50) * 1000,
                    scenarios.percentile(measured.latencies, 99) * 1000,
                    service_cpu,
                    measured.generator_cpu_seconds,
                    measured.machine_cpu_seconds,
                    measured.wall_seconds,
                    peaks,
                    connections,
                    retries,
                )
            )
        return rows


async def _spread_connections(
    channels: contextlib.AsyncExitStack, port: int, workers: list[int]
) -> tuple[list[Stub], tuple[int, ...]]:
    """CONNECTIONS stubs, each on a channel of its own connection, spread evenly over the
    workers; and how many connections each worker got."""
    share = math.ceil(CONNECTIONS / len(workers))
    taken = dict.fromkeys(workers, 0)
    stubs: list[Stub] = []
    for _ in range(CONNECTION_TRIES):
        if len(stubs) == CONNECTIONS:
            return stubs, tuple(taken.values())
        before = {pid: processes.tcp_sockets(pid, port, ESTABLISHED) for pid in workers}
        # A subchannel pool of its own: no sharing of a connection with the other channels.
        channel = grpc.aio.insecure_channel(
            f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)]
        )
        await channels.enter_async_context(channel)
        await asyncio.wait_for(channel.channel_ready(), processes.START_TIMEOUT)
        [worker] = [
            pid for pid in workers if processes.tcp_sockets(pid, port, ESTABLISHED) - before[pid]
        ]
        if taken[worker] < share:
            taken[worker] += 1
            stubs.append(Stub(channel))
    raise RuntimeError(f"no even spread of {CONNECTIONS} connections in {CONNECTION_TRIES} tries")


def report(plan: Plan, rows: list[WorkersRow]) -> None:
    cores = len(os.sched_getaffinity(0))
    print(
        f"workers comparison: payload {PAYLOAD.name}, a fresh service per worker count "
        f"(--workers N), {CONNECTIONS} connections spread evenly over the workers; "
        f"{STREAM}: {plan.stream_events} events, one StreamEvents call per connection, "
        f"messages of {plan.per_message}; {UNARY}: {plan.unary_events} events, "
        f"{plan.concurrency} calls in flight over the connections"
    )
    print()
    header = (
        f"{'scenario':<9} {'workers':>7} {'events':>7} {'events/s':>9} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'svc CPU s':>9} {'gen CPU s':>9} {'machine cores':>13} "
        f"{'conns/worker':>12} {'peak MB/worker':>14} {'retries':>7}"
    )
    print(header)
    print("-" * len(header))
    for row in sorted(rows, key=lambda row: ((STREAM, UNARY).index(row.scenario), row.workers)):
        print(
            f"{row.scenario:<9} {row.workers:>7} {row.events:>7} {row.events_per_second:>9.0f} "
            f"{row.p50_ms:>8.1f} {row.p99_ms:>8.1f} {row.service_cpu:>9.1f} "
            f"{row.generator_cpu:>9.1f} {row.machine_cpu / row.wall_seconds:>13.2f} "
            f"{'+'.join(map(str, row.connections)):>12} "
            f"{'/'.join(f'{mb:.0f}' for mb in row.peak_mb):>14} {row.retries:>7}"
        )
    print(
        "svc CPU: the service's processes summed (parent and workers); gen CPU: the load "
        "generator, one Python process; machine cores: CPU seconds of every process "
        f"(service, load generator, simulator) per second, of {cores}"
    )
    print()
    by_key = {(row.scenario, row.workers): row for row in rows}
    low, high = WORKER_COUNTS
    for scenario in (STREAM, UNARY):
        one, two = by_key[scenario, low], by_key[scenario, high]
        generator_share = two.generator_cpu / two.wall_seconds
        machine_share = two.machine_cpu / two.wall_seconds / cores
        worker_share = two.service_cpu / two.wall_seconds / high
        print(
            f"{high} vs {low} workers, {scenario}: "
            f"{two.events_per_second / one.events_per_second:.2f}x events/s; with {high}: workers "
            f"{worker_share:.0%} busy, load generator {generator_share:.0%} of a core, "
            f"machine {machine_share:.0%} of {cores} cores"
        )
        if generator_share > 0.8 or machine_share > 0.9:
            print(
                "  the machine is (nearly) saturated: the load generator and the simulator share "
                "its cores with the workers, so this ratio is a lower bound for the service"
            )
        elif worker_share < 0.7:
            print(
                "  the workers are not saturated: the calls in flight, each waiting for Heap's "
                "round trip, bound this figure (events/s = in flight / time per call), not cores"
            )
