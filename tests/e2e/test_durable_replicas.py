"""Three service processes on one PostgreSQL store: they share Heap's rate limit through
the store, and a replica killed while it holds leases leaves its events to the others."""

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import http_client
from tests.support.durable import (
    Acks,
    assert_copies_identical,
    attempt_statuses,
    clear_faults,
    delivered_keys,
    duplicates,
    leased_in_postgres,
    message_ids,
    rate_limit_flags,
    set_limits,
    start_stored_service,
    statuses_in_postgres,
    stream_stored,
    track_messages,
    wait_for_backlog,
)
from tests.support.postgres import postgres_schema, postgres_server
from tests.support.processes import Process, free_address
from tests.support.simulator_api import accepted, inject_fault, tracked_events
from tests.support.wait import wait_until

REPLICAS = 3
HELD_MS = 15_000


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    with postgres_server() as server_url:
        yield server_url


@pytest.fixture
def store_url(postgres: str) -> Iterator[str]:
    """A --store URL on a schema of this test's own."""
    with postgres_schema(postgres) as url:
        yield url


@pytest.mark.slow
def test_three_replicas_share_heaps_limit_and_deliver_each_event_once(
    simulator: str, store_url: str
) -> None:
    events_per_replica, limit, window = 1_000, 500, 5.0
    set_limits(simulator, limit, window)
    metrics = [free_address() for _ in range(REPLICAS)]
    flags = rate_limit_flags(limit, window)
    with ExitStack() as stack:
        replicas = [
            _start(stack, simulator, store_url, *flags, "--metrics-listen", address)
            for address in metrics
        ]
        started = time.monotonic()
        acks = _stream_to_each(replicas, events_per_replica)
        finished = wait_for_backlog(replicas[0].address(), at_most=0, timeout=45, interval=0.5)
        sent_by = [_sent(address) for address in metrics]

    events = REPLICAS * events_per_replica
    took = finished - started
    print(f"\nreplicas: {events} events delivered in {took:.1f} s, sent per replica {sent_by}")
    assert [a.codes for a in acks] == [{0: events_per_replica}] * REPLICAS
    keys = delivered_keys(simulator)
    assert sorted(keys) == sorted(_all_ids(events_per_replica))
    assert duplicates(keys) == 0
    assert 429 not in attempt_statuses(simulator)
    assert took >= (events // limit - 1) * window, "together they went faster than the limit"
    assert sum(sent_by) == events, "a replica sent events Heap did not take"


@pytest.mark.slow
def test_past_the_bulk_budget_replicas_share_each_identitys_single_event_limit(
    simulator: str, store_url: str
) -> None:
    """Heap's limits, with 20 events a minute per identity in bulk here, and Heap's 30
    single-event requests per 30 s per identity; 5 identities. Replica 0 takes 40 events
    per identity (20 in bulk, 20 alone), then replica 1 as many (10 more alone: the
    identities' room left), then replica 2 (none: no room left)."""
    identities, bulk_per_identity, per_replica = 5, 20, 200
    limits = {
        "events_per_minute_per_app": 15_000,
        "events_per_minute_per_identity": bulk_per_identity,
        "requests_per_30s_per_identity": 30,
        "window_seconds": 60,
    }
    http_client.post(f"{simulator}/_sim/limits", json=limits).raise_for_status()
    flags = [
        *("--rate-limit-per-app", "15000", "--rate-limit-per-identity", str(bulk_per_identity)),
        *("--rate-limit-window", "60"),
    ]
    in_heap = [per_replica, identities * (bulk_per_identity + 30)]
    with ExitStack() as stack:
        replicas = [_start(stack, simulator, store_url, *flags) for _ in range(REPLICAS)]
        started = time.monotonic()
        acks = []
        for index, replica in enumerate(replicas):
            messages = track_messages(f"r{index}", per_replica, users=identities)
            acks.append(stream_stored(replica.address(), messages))
            if index < len(in_heap):
                # Its own process, woken by its commits, takes its events first.
                _wait_for_events_in_heap(simulator, in_heap[index])
        # Every event left is put back until its identity has room again: from then on
        # no replica sends anything inside Heap's window, so a request too many would
        # have been sent by now.
        undelivered = REPLICAS * per_replica - in_heap[-1]
        wait_until(lambda: _deferred(store_url) == undelivered, timeout=20, interval=0.2)
        within = time.monotonic() - started
        events = tracked_events(simulator)
        first_due = _first_due(store_url)

    singles = Counter(
        r["body"]["identity"]
        for r in accepted(simulator)
        if r["path"] == "/api/track" and "events" not in r["body"]
    )
    print(f"\n{len(events)} events in Heap after {within:.1f} s; single-event requests {singles}")
    assert time.time() < first_due, "the check must end before any identity has room again"
    assert [a.codes for a in acks] == [{0: per_replica}] * REPLICAS
    assert len(events) == in_heap[-1]
    assert singles == {f"user-{n}": 30 for n in range(identities)}
    assert duplicates(delivered_keys(simulator)) == 0
    assert 429 not in attempt_statuses(simulator)


@pytest.mark.slow
def test_events_leased_by_a_killed_replica_are_delivered_by_the_others(
    simulator: str, store_url: str
) -> None:
    events_per_replica, limit, window, latency_ms = 1_000, 1_000, 2.0, 500
    set_limits(simulator, limit, window)
    inject_fault(simulator, latency_ms=latency_ms, probability=1.0, path="/api/track")
    flags = [*rate_limit_flags(limit, window), "--store-lease", "3"]
    with ExitStack() as stack:
        replicas = [_start(stack, simulator, store_url, *flags) for _ in range(REPLICAS)]
        acks = _stream_to_each(replicas, events_per_replica)
        # Heap now holds every request for HELD_MS: the batches it holds are surely still
        # waiting for its answer when their replica is killed, however busy the machine.
        clear_faults(simulator)
        inject_fault(simulator, latency_ms=HELD_MS, probability=1.0, path="/api/track")
        owner = _owner_with_batches_at_heap(store_url, 5 * latency_ms / 1000)
        victim = next(r for r in replicas if owner.endswith(f":{r.pid}"))
        victim.stop()  # SIGKILL, while its batches wait for Heap's answer
        clear_faults(simulator)
        leased = {key for key, holder in leased_in_postgres(store_url).items() if holder == owner}
        survivor = next(r for r in replicas if r is not victim)
        killed_at = time.monotonic()
        wait_for_backlog(survivor.address(), at_most=0, timeout=30)
        recovered = time.monotonic() - killed_at
        states = statuses_in_postgres(store_url, leased)

    keys = delivered_keys(simulator)
    duplicated = {key for key, count in keys.items() if count > 1}
    print(
        f"\nreplica killed holding {len(leased)} leased events; all delivered {recovered:.1f} s "
        f"later; {duplicates(keys)} duplicates; Heap answered {dict(attempt_statuses(simulator))}"
    )
    assert [a.codes for a in acks] == [{0: events_per_replica}] * REPLICAS
    assert leased, "the killed replica held no lease"
    assert states == {"delivered": len(leased)}, "the others did not take over its leases"
    assert sorted(keys) == sorted(_all_ids(events_per_replica))
    assert duplicated <= leased, "a duplicate the killed replica did not hold"
    assert_copies_identical(simulator, duplicated)


# Undelivered events put back until later (not claimable now, nor leased by a replica).
_DEFERRED = "SELECT count(*), min(due_at) FROM items WHERE status = 'stored' AND due_at > %s"


def _deferred(store_url: str) -> int:
    with psycopg.connect(store_url) as db:
        row = db.execute(_DEFERRED, (time.time(),)).fetchone()
    return int(row[0]) if row else 0


def _first_due(store_url: str) -> float:
    with psycopg.connect(store_url) as db:
        row = db.execute(_DEFERRED, (time.time(),)).fetchone()
    assert row is not None and row[1] is not None, "no event is put back"
    return float(row[1])


def _wait_for_events_in_heap(simulator: str, count: int) -> None:
    wait_until(lambda: len(tracked_events(simulator)) >= count, timeout=20)


def _start(stack: ExitStack, simulator: str, store_url: str, *flags: str) -> Process:
    replica = start_stored_service(simulator, store_url, *flags)
    stack.callback(replica.stop)
    return replica


def _stream_to_each(replicas: list[Process], events: int) -> list[Acks]:
    """Streams `events` to every replica at once, replica i's with ids "r{i}-N"."""
    acks: dict[int, Acks] = {}

    def produce(index: int) -> None:
        messages = track_messages(f"r{index}", events)
        acks[index] = stream_stored(replicas[index].address(), messages)

    producers = [threading.Thread(target=produce, args=(i,)) for i in range(len(replicas))]
    for producer in producers:
        producer.start()
    for producer in producers:
        producer.join(timeout=60)
    return [acks[i] for i in range(len(replicas))]


def _all_ids(events_per_replica: int) -> list[str]:
    return [key for i in range(REPLICAS) for key in message_ids(f"r{i}", events_per_replica)]


def _owner_with_batches_at_heap(store_url: str, steady: float) -> str:
    """The lease owner ("host:pid") of events that stay leased for `steady` seconds, as
    batches Heap holds do (a batch the budget refuses is leased only a moment)."""
    owners: list[str] = []

    def steady_lease() -> bool:
        before = leased_in_postgres(store_url)
        time.sleep(steady)
        after = leased_in_postgres(store_url)
        owners[:] = sorted({owner for key, owner in after.items() if before.get(key) == owner})
        return bool(owners)

    wait_until(steady_lease, timeout=20)
    return owners[0]


def _sent(metrics_address: str) -> int:
    """Events a replica sent to Heap's /api/track, from its Prometheus metrics.

    (Not events_delivered_total: in ack mode stored that also counts each event when it
    is stored.)"""
    text = http_client.get(f"http://{metrics_address}/metrics").text
    return sum(
        int(sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "heap_destination_bulk_request_size_sum"
        and sample.labels.get("endpoint") == "/api/track"
    )
