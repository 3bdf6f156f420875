"""Benchmark: ack mode STORED against ack mode DELIVERED, on SQLite and on PostgreSQL.

Starts the Heap simulator (its rate limits off; it answers each request after
BENCH_STORED_HEAP_LATENCY_MS, 20 ms by default, as in bench.py) and, for every row, a fresh
service process (its rate limits off too, so the figures show raw throughput) with a fresh
store: a new SQLite file, or a new PostgreSQL schema dropped after the row. Per payload
(Heap's flattening example, and the one of about 50 properties) it measures:

- delivered, no store: one StreamEvents call (OK = Heap accepted), then TrackEvent calls,
  BENCH_STORED_UNARY_CONCURRENCY in flight: today's figures, from the same run;
- stored, SQLite and stored, PostgreSQL: the same with `DestinationConfig.ack_mode =
  ACK_MODE_STORED` in the stream's and each call's config (OK = committed to the store),
  while background delivery sends to Heap;
- stored, SQLite, http-batch: the same events as Segment-style `POST /v1/batch` requests of
  BENCH_STORED_HTTP_BATCH items (100), BENCH_STORED_HTTP_CONCURRENCY (16) in flight, to the
  service's HTTP intake, whose 200 means committed to the store (see
  benchmarks/segment_batches.py), beside the gRPC stream's stored row.

Printed per row: events/s from the first send to the last result (OK), the stored row's
share of the delivered one (the target for streams: at least 90% on SQLite, 80% on
PostgreSQL, as the median of runs), p50 and p99 time to
result (stream: from the write of the message carrying the event; unary: the call), the
time from the first send until the service had every event delivered to Heap (stored:
background delivery's drain, read from the service's delivered-events counter), and the
service's CPU time over the row (background delivery included). Every row is checked against
the simulator: each event exactly once, by idempotency key, or the benchmark fails.

Run with `make bench` (after bench.py) or `python -m benchmarks.stored`; BENCH_STORED_*
variables set the counts, and BENCH_STORED_SCENARIOS the rows (stream, and any of unary and
http-batch; all three by default). PostgreSQL rows need BENCH_STORED_POSTGRES_URL
(postgresql://postgres@127.0.0.1:5432/test by default) to answer; otherwise they are skipped
with the reason printed.
"""

import asyncio
import contextlib
import os
import re
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import aiohttp
import grpc
import psycopg
from psycopg import sql

from benchmarks import control, heap_record, processes, scenarios, segment_batches
from benchmarks.bench import ServiceMeter, machine
from benchmarks.env_numbers import env_number
from benchmarks.payloads import APP_ID, PAYLOADS, Payload
from heap_destination.v1 import config_pb2, service_pb2_grpc, stream_pb2, track_pb2

START_TIMEOUT = processes.START_TIMEOUT
METRICS_READY = re.compile(r"metrics on http://[\d.]+:(?P<port>\d+)/metrics")
DELIVERED_METRIC = re.compile(
    r'^heap_destination_events_delivered_total\{kind="track"\} (?P<value>\S+)$', re.MULTILINE
)
HTTP_READY = re.compile(r"HTTP intake listening on [\d.]+:(?P<port>\d+)")
RESPONSES_METRIC = re.compile(
    r"^heap_destination_heap_responses_total\{[^}]*"
    r'status="(?P<status>[^"]*)"[^}]*\} (?P<value>\S+)$',
    re.MULTILINE,
)
POLL_SECONDS = 0.05
"""How often the service's delivered-events counter is read once a row's last result came:
not before, as each read costs the service (one process, one GIL) CPU time."""
WARM_UP_STREAM_EVENTS = 1_000
STREAM_TARGETS = {"sqlite": 0.90, "postgresql": 0.80}
"""Stored stream events/s at least this share of delivered's, per store (the goal for ack
mode STORED)."""
HTTP_TARGET = 0.75
"""/v1/batch events/s at least this share of the stored stream's, on the same store."""

NO_STORE, SQLITE, POSTGRESQL = "none", "sqlite", "postgresql"
SCENARIOS = ("stream", "unary")
HTTP_BATCH = "http-batch"


@dataclass(frozen=True)
class Config:
    stream_events: int
    stream_batch: int
    unary_events: int
    unary_concurrency: int
    http_batch: int
    http_concurrency: int
    identities: int
    timeout: float
    heap_latency_ms: int
    payloads: tuple[Payload, ...]
    scenarios: tuple[str, ...]
    postgres_url: str

    @classmethod
    def from_env(cls) -> "Config":
        known = {payload.name: payload for payload in PAYLOADS}
        names = os.environ.get("BENCH_STORED_PAYLOADS", ",".join(known)).split(",")
        unknown = [name for name in names if name.strip() not in known]
        if unknown or not names:
            raise SystemExit(
                f"BENCH_STORED_PAYLOADS must name some of {', '.join(known)}, not {names!r}"
            )
        every_scenario = (*SCENARIOS, HTTP_BATCH)
        chosen = os.environ.get("BENCH_STORED_SCENARIOS", ",".join(every_scenario)).split(",")
        if not set(chosen) <= set(every_scenario) or "stream" not in chosen:
            raise SystemExit(
                f"BENCH_STORED_SCENARIOS must name stream and any of unary, {HTTP_BATCH}, "
                f"not {chosen!r}"
            )
        return cls(
            stream_events=env_number("BENCH_STORED_STREAM_EVENTS", 20_000),
            stream_batch=env_number("BENCH_STORED_STREAM_BATCH", 500),
            unary_events=env_number("BENCH_STORED_UNARY_EVENTS", 3_000),
            unary_concurrency=env_number("BENCH_STORED_UNARY_CONCURRENCY", 64),
            http_batch=env_number("BENCH_STORED_HTTP_BATCH", 100),
            http_concurrency=env_number("BENCH_STORED_HTTP_CONCURRENCY", 16),
            identities=env_number("BENCH_STORED_IDENTITIES", 1_000),
            timeout=env_number("BENCH_STORED_TIMEOUT", 120),
            heap_latency_ms=env_number("BENCH_STORED_HEAP_LATENCY_MS", 20, least=0),
            payloads=tuple(known[name.strip()] for name in names),
            scenarios=tuple(name for name in every_scenario if name in chosen),
            postgres_url=os.environ.get(
                "BENCH_STORED_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
            ),
        )

    def events(self, scenario: str) -> int:
        return self.unary_events if scenario == "unary" else self.stream_events


@dataclass(frozen=True)
class StoredPayload(Payload):
    """A payload whose requests (and stream) ask for ack mode STORED in their config."""

    @classmethod
    def of(cls, payload: Payload) -> "StoredPayload":
        return cls(payload.name, payload.event, payload.properties)

    def track_request(self, user_id: str, message_id: str) -> track_pb2.TrackEventRequest:
        request = super().track_request(user_id, message_id)
        request.config.ack_mode = config_pb2.ACK_MODE_STORED
        return request

    def stream_messages(
        self, ids: list[str], identities: int, per_message: int
    ) -> list[stream_pb2.StreamEventsRequest]:
        messages = super().stream_messages(ids, identities, per_message)
        messages[0].config.ack_mode = config_pb2.ACK_MODE_STORED
        return messages


@dataclass(frozen=True)
class Row:
    store: str
    """NO_STORE (ack mode delivered), SQLITE or POSTGRESQL (ack mode stored)."""
    scenario: str
    payload: str
    events: int
    events_per_second: float
    """From the first send to the last result (OK)."""
    p50_ms: float
    p99_ms: float
    wall_seconds: float
    in_heap_seconds: float
    """From the first send until the service had delivered every event to Heap (ack mode
    delivered: to the last result, which came once Heap accepted)."""
    requests_per_1000: float
    service_cpu_seconds: float
    """The service's CPU time from the first send until every event was in Heap."""
    retries: int
    """Heap requests that failed (not 2xx, or no answer): each is sent again."""

    @property
    def mode(self) -> str:
        return "delivered" if self.store == NO_STORE else "stored"


class DeliveredCounter:
    """The service's counts of track events Heap accepted and of Heap requests that failed,
    from its /metrics endpoint."""

    def __init__(self, http: aiohttp.ClientSession, service: processes.Child) -> None:
        found = METRICS_READY.search(service.log.read_text(errors="replace"))
        if found is None:
            raise RuntimeError("the service logged no metrics address")
        self._http = http
        self._url = f"http://127.0.0.1:{found['port']}/metrics"

    async def read(self) -> int:
        """Track events delivered."""
        found = DELIVERED_METRIC.search(await self._metrics())
        return int(float(found["value"])) if found else 0

    async def failed_requests(self) -> int:
        """Heap requests answered other than 2xx, or not answered."""
        found = RESPONSES_METRIC.finditer(await self._metrics())
        return sum(int(float(m["value"])) for m in found if not m["status"].startswith("2"))

    async def reached(self, count: int) -> float:
        """Waits until `count` events were delivered; the perf_counter time it was seen."""
        while await self.read() < count:
            await asyncio.sleep(POLL_SECONDS)
        return time.perf_counter()

    async def _metrics(self) -> str:
        return await control.get_text(self._http, self._url)


class StoredBench:
    """Runs each row on a service process of its own, with a store of its own."""

    def __init__(self, config: Config, heap_url: str, logs: Path) -> None:
        self.config = config
        self.heap_url = heap_url
        self.logs = logs
        self.http = control.control_session()

    async def close(self) -> None:
        await self.http.close()

    async def prepare_simulator(self) -> None:
        """Rate limits off; every answer after the configured latency, as in bench.py."""
        await control.call(self.http, "DELETE", f"{self.heap_url}/_sim/limits")
        if self.config.heap_latency_ms:
            fault = {"latency_ms": self.config.heap_latency_ms, "probability": 1.0}
            await control.call(self.http, "POST", f"{self.heap_url}/_sim/faults", fault)

    async def row(self, store: str, scenario: str, payload: Payload) -> Row:
        name = f"{store}-{scenario}-{payload.name}"
        with self._fresh_store(store, name) as store_url:
            serve = processes.serve_command(self.heap_url)
            if store_url is not None:
                serve.append(f"--store={store_url}")
            if scenario == HTTP_BATCH:
                serve += ["--http-listen=127.0.0.1:0", f"--app-id={APP_ID}"]  # a write key's app
            log = self.logs / f"service-{name}.log"
            with processes.child(serve, log, processes.SERVICE_READY, START_TIMEOUT) as service:
                try:
                    return await self._on_service(service, store, scenario, payload)
                except Exception:
                    print(f"service log (last lines):\n{service.log_tail()}", file=sys.stderr)
                    raise

    @contextlib.contextmanager
    def _fresh_store(self, store: str, name: str) -> Iterator[str | None]:
        """The --store URL of a new, empty store (None: no store), removed afterwards."""
        if store == NO_STORE:
            yield None
        elif store == SQLITE:
            path = self.logs / f"store-{name}.db"
            try:
                yield f"sqlite:{path}"
            finally:
                for leftover in self.logs.glob(f"{path.name}*"):  # with -wal and -shm
                    leftover.unlink()
        else:
            with fresh_schema(self.config.postgres_url) as url:
                yield url

    async def _on_service(
        self, service: processes.Child, store: str, scenario: str, payload: Payload
    ) -> Row:
        sent = payload if store == NO_STORE else StoredPayload.of(payload)
        counter = DeliveredCounter(self.http, service)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{service.port}") as channel:
            stub = service_pb2_grpc.HeapDestinationServiceStub(channel)
            await self._warm_up(stub, sent, counter)
            if scenario == HTTP_BATCH:
                warmed = await counter.read() + await self._warm_up_http(service, payload)
                await asyncio.wait_for(counter.reached(warmed), scenarios.WARM_UP_TIMEOUT)
            await heap_record.clear(self.http, self.heap_url)
            before, failed_before = await counter.read(), await counter.failed_requests()
            meter = ServiceMeter(service)
            events = self.config.events(scenario)
            measured = await asyncio.wait_for(
                self._run(scenario, stub, sent, events, service), self.config.timeout
            )
            first_send = time.perf_counter() - measured.wall_seconds
            try:
                # Nothing is delivered before it is stored, and stored events are answered
                # at once: delivery cannot have finished much before the last result.
                all_in_heap = await asyncio.wait_for(
                    counter.reached(before + events), self.config.timeout
                )
            except TimeoutError:
                await self._check(measured.ids, payload)  # says what is missing
                raise scenarios.ScenarioFailed(
                    f"the service did not count all {events} events delivered "
                    f"within {self.config.timeout} s of the last result"
                ) from None
            use, _ = meter.read()
            failed = await counter.failed_requests() - failed_before
            requests = await self._check(measured.ids, payload)
        return Row(
            store,
            scenario,
            payload.name,
            events,
            events / measured.wall_seconds,
            scenarios.percentile(measured.latencies, 50) * 1000,
            scenarios.percentile(measured.latencies, 99) * 1000,
            measured.wall_seconds,
            measured.wall_seconds if store == NO_STORE else all_in_heap - first_send,
            requests / events * 1000,
            use.cpu_seconds,
            failed,
        )

    async def _warm_up(
        self,
        stub: service_pb2_grpc.HeapDestinationServiceStub,
        sent: Payload,
        counter: DeliveredCounter,
    ) -> None:
        """bench.py's warm-up (Heap connections, both paths, in ack mode delivered); for a
        stored row, the same again in ack mode stored (commits, claims, the store's
        connections), until background delivery has sent all of it."""
        c = self.config
        await scenarios.warm_up([stub], c.identities, c.stream_batch, c.unary_concurrency)
        if isinstance(sent, StoredPayload):
            stream = scenarios.run_stream(
                [stub], sent, WARM_UP_STREAM_EVENTS, c.identities, c.stream_batch, c.timeout
            )
            unary = scenarios.run_unary(
                [stub], sent, c.unary_concurrency, c.identities, c.unary_concurrency
            )
            await asyncio.wait_for(asyncio.gather(stream, unary), scenarios.WARM_UP_TIMEOUT)
        total = (WARM_UP_STREAM_EVENTS + c.unary_concurrency) * (
            2 if isinstance(sent, StoredPayload) else 1
        )
        await asyncio.wait_for(counter.reached(total), scenarios.WARM_UP_TIMEOUT)

    async def _warm_up_http(self, service: processes.Child, payload: Payload) -> int:
        """A few /v1/batch requests, unmeasured; the number of events they carried."""
        c = self.config
        events = c.http_batch * c.http_concurrency * 2
        await segment_batches.run_http_batches(
            http_url(service), payload, events, c.identities, c.http_batch, c.http_concurrency
        )
        return events

    def _run(
        self,
        scenario: str,
        stub: service_pb2_grpc.HeapDestinationServiceStub,
        sent: Payload,
        events: int,
        service: processes.Child,
    ) -> Coroutine[Any, Any, scenarios.Measurement]:
        c = self.config
        if scenario == HTTP_BATCH:
            return segment_batches.run_http_batches(
                http_url(service), sent, events, c.identities, c.http_batch, c.http_concurrency
            )
        if scenario == "stream":
            return scenarios.run_stream(
                [stub], sent, events, c.identities, c.stream_batch, c.timeout
            )
        return scenarios.run_unary([stub], sent, events, c.identities, c.unary_concurrency)

    async def _check(self, ids: list[str], payload: Payload) -> int:
        """Fails unless the simulator holds each of `ids` exactly once; its request count."""
        flat_keys = set(payload.flat_properties())
        return await heap_record.check_delivered(self.http, self.heap_url, ids, flat_keys)


def http_url(service: processes.Child) -> str:
    """The base URL of the service's HTTP intake, from the line it logged."""
    found = HTTP_READY.search(service.log.read_text(errors="replace"))
    if found is None:
        raise RuntimeError("the service logged no HTTP intake address")
    return f"http://127.0.0.1:{found['port']}"


@contextlib.contextmanager
def fresh_schema(base_url: str) -> Iterator[str]:
    """A new schema, dropped afterwards; yields a URL whose search_path is that schema."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        separator = "&" if "?" in base_url else "?"
        yield f"{base_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(base_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def postgres_unreachable(url: str) -> str | None:
    """Why PostgreSQL at `url` cannot be used, or None when it answers."""
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as connection:
            connection.execute("SELECT 1")
    except (psycopg.Error, OSError) as error:
        return f"{type(error).__name__}: {' '.join(str(error).split()) or 'no detail'}"
    return None


async def run_all(config: Config, heap_url: str, logs: Path) -> tuple[list[Row], str | None]:
    """The rows, and why the PostgreSQL rows were skipped (None when they ran)."""
    bench = StoredBench(config, heap_url, logs)
    try:
        await bench.prepare_simulator()
        skipped = postgres_unreachable(config.postgres_url)
        stores = (NO_STORE, SQLITE) if skipped else (NO_STORE, SQLITE, POSTGRESQL)
        rows = [
            await bench.row(store, scenario, payload)
            for payload in config.payloads
            for store in stores
            for scenario in config.scenarios
            if scenario != HTTP_BATCH or store == SQLITE
        ]
        return rows, skipped
    finally:
        await bench.close()


def report(config: Config, rows: list[Row], skipped: str | None, seconds: float) -> None:
    print(machine())
    print(
        f"config: stream {config.stream_events} events in messages of {config.stream_batch}; "
        f"unary {config.unary_events} TrackEvent calls, {config.unary_concurrency} in flight; "
        f"http-batch: /v1/batch requests of {config.http_batch} items, "
        f"{config.http_concurrency} in flight; "
        f"{config.identities} identities; the simulator answers each request after "
        f"{config.heap_latency_ms} ms (BENCH_STORED_HEAP_LATENCY_MS); rate limits off "
        "(service and simulator)"
    )
    for payload in config.payloads:
        print(
            f"payload {payload.name}: event {payload.event!r}, "
            f"{len(payload.flat_properties())} flat properties"
        )
    if skipped:
        print(f"PostgreSQL rows skipped: {config.postgres_url} cannot be reached ({skipped})")
    print()
    header = (
        f"{'mode':<9} {'store':<10} {'payload':<7} {'scenario':<10} {'events':>6} "
        f"{'events/s':>8} {'vs deliv':>8} {'p50 ms':>7} {'p99 ms':>7} {'in Heap s':>9} "
        f"{'drain s':>7} {'Heap ev/s':>9} {'Heap req/1k':>11} {'svc CPU s':>9} {'µs/ev':>6} "
        f"{'retries':>7}"
    )
    print(header)
    print("-" * len(header))
    delivered = {(r.payload, r.scenario): r for r in rows if r.store == NO_STORE}
    stored_streams = {(r.payload, r.store): r for r in rows if r.scenario == "stream"}
    for row in rows:
        base = delivered[row.payload, "stream" if row.scenario == HTTP_BATCH else row.scenario]
        share = "" if row is base else f"{row.events_per_second / base.events_per_second:.0%}"
        print(
            f"{row.mode:<9} {row.store:<10} {row.payload:<7} {row.scenario:<10} {row.events:>6} "
            f"{row.events_per_second:>8.0f} {share:>8} {row.p50_ms:>7.1f} {row.p99_ms:>7.1f} "
            f"{row.in_heap_seconds:>9.2f} {row.in_heap_seconds - row.wall_seconds:>7.2f} "
            f"{row.events / row.in_heap_seconds:>9.0f} {row.requests_per_1000:>11.1f} "
            f"{row.service_cpu_seconds:>9.1f} {row.service_cpu_seconds / row.events * 1e6:>6.0f} "
            f"{row.retries:>7}"
        )
    print(
        "events/s: first send to last result (delivered: Heap accepted; stored: committed); "
        "vs deliv: of the delivered row's events/s, same payload and scenario (http-batch: "
        "the delivered stream's)"
    )
    print(
        "p50/p99: time to result; stream, from the write of the message carrying the event; "
        "unary, the call"
    )
    print(
        "in Heap s: first send until the service had every event delivered to Heap; drain s: "
        "of that, after the last result; Heap ev/s: events / in Heap s"
    )
    print(
        "svc CPU s: the service process, first send until every event was in Heap; "
        "a fresh service and a fresh store (SQLite file, PostgreSQL schema) per row; "
        "µs/ev: svc CPU s per event; "
        "retries: Heap requests that failed (not 2xx, or no answer), each sent again"
    )
    print()
    for row in rows:
        if row.scenario == HTTP_BATCH:
            stream = stored_streams[row.payload, row.store]
            ratio = row.events_per_second / stream.events_per_second
            verdict = "meets" if ratio >= HTTP_TARGET else "BELOW"
            print(
                f"/v1/batch / stored stream events/s, {row.payload}, {row.store}: {ratio:.0%} "
                f"({verdict} the {HTTP_TARGET:.0%} target)"
            )
            continue
        base = delivered[row.payload, row.scenario]
        if row.scenario == "stream" and row is not base:
            ratio = row.events_per_second / base.events_per_second
            target = STREAM_TARGETS[row.store]
            verdict = "meets" if ratio >= target else "BELOW"
            print(
                f"stored/delivered stream events/s, {row.payload}, {row.store}: {ratio:.0%} "
                f"({verdict} the {target:.0%} target)"
            )
    print()
    print("every event verified: Heap (the simulator) accepted each exactly once")
    print(f"total {seconds:.0f} s")


def _exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # so the child processes are stopped on the way out


def main() -> int:
    signal.signal(signal.SIGTERM, _exit)
    config = Config.from_env()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="heap-bench-stored-") as scratch:
        logs = Path(scratch)
        simulate = [str(processes.BIN / "heap-destination"), "simulate", "--listen", "127.0.0.1:0"]
        ready = processes.SIMULATOR_READY
        with processes.child(simulate, logs / "sim.log", ready, START_TIMEOUT) as sim:
            heap_url = f"http://127.0.0.1:{sim.port}"
            rows, skipped = asyncio.run(run_all(config, heap_url, logs))
    report(config, rows, skipped, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
