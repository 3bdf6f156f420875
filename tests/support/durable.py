"""Helpers for the durable-delivery acceptance tests: services in ack mode stored, the
simulator's limits and faults, and what reached Heap, all over the real wire."""

import json
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import psycopg

from heap_destination.client import HeapDestinationClient, in_messages, track_event
from heap_destination.v1 import admin_pb2, admin_pb2_grpc, config_pb2, stream_pb2
from tests.support import http_client
from tests.support.processes import COMMAND, Process, free_address, start_service
from tests.support.simulator_api import attempts, tracked_events

APP_ID = "1234567890"
STORED = config_pb2.DestinationConfig(app_id=APP_ID, ack_mode=config_pb2.ACK_MODE_STORED)
# What one claimed batch holds at most (StoredDeliverySettings.max_batch).
MAX_BATCH = 1000


def start_stored_service(simulator_url: str, store_url: str, *flags: str) -> Process:
    """A `heap-destination serve` process with a store, delivering to the simulator."""
    return start_service(free_address(), simulator_url, "--store", store_url, *flags)


def rate_limit_flags(events_per_app: int, window_seconds: float) -> list[str]:
    """The service's view of Heap's limits, matching `set_limits` (no identity limit), in
    bulk only: the tests using it pin down the bulk budget the processes share."""
    return [
        "--single-event-requests=false",
        "--rate-limit-per-app",
        str(events_per_app),
        "--rate-limit-per-identity",
        "0",
        "--rate-limit-window",
        str(window_seconds),
    ]


def set_limits(simulator_url: str, events_per_app: int, window_seconds: float) -> None:
    """Makes the simulator enforce Heap's per-app event limit over a scaled window."""
    limits = {"events_per_minute_per_app": events_per_app, "window_seconds": window_seconds}
    http_client.post(f"{simulator_url}/_sim/limits", json=limits).raise_for_status()


def clear_faults(simulator_url: str) -> None:
    http_client.delete(f"{simulator_url}/_sim/faults").raise_for_status()


def message_ids(prefix: str, count: int) -> list[str]:
    return [f"{prefix}-{n}" for n in range(count)]


def track_messages(
    prefix: str, count: int, per_message: int = 500, users: int = 100
) -> Iterator[stream_pb2.StreamEventsRequest]:
    """`count` track events in stream messages, the first carrying the stored config.
    Event n has the id and message_id f"{prefix}-{n}", which becomes its idempotency key."""
    events = (
        track_event(f"{prefix}-{n}", "Burst", user_id=f"user-{n % users}") for n in range(count)
    )
    return in_messages(events, per_message, STORED)


@dataclass(frozen=True)
class Acks:
    codes: Counter[int]
    """How many events were answered with each code (0 is OK)."""
    last_at: float
    """time.monotonic() when the last answer arrived."""


def stream_stored(
    target: str, messages: Iterable[stream_pb2.StreamEventsRequest], timeout: float = 60
) -> Acks:
    """Sends `messages` over one StreamEvents call and counts the answers."""
    codes: Counter[int] = Counter()
    with HeapDestinationClient(target, config=STORED) as client:
        for result in client.stream(messages, timeout=timeout):
            codes[result.code] += 1
    return Acks(codes, time.monotonic())


def delivered_keys(simulator_url: str) -> Counter[str]:
    """How often Heap accepted each idempotency key."""
    return Counter(str(event["idempotency_key"]) for event in tracked_events(simulator_url))


def attempt_statuses(simulator_url: str) -> Counter[int | None]:
    """How often the simulator answered each status (None: connection dropped)."""
    return Counter(attempt["status"] for attempt in attempts(simulator_url))


def duplicates(keys: Counter[str]) -> int:
    """Events Heap got more than once, counted once per extra copy."""
    return sum(count - 1 for count in keys.values() if count > 1)


def undelivered(target: str) -> int:
    """Undelivered events of every app, from the service's backlog (the store's view)."""
    with grpc.insecure_channel(target) as channel:
        backlog = admin_pb2_grpc.DeliveryAdminServiceStub(channel).GetBacklog(
            admin_pb2.GetBacklogRequest(), timeout=10
        )
    return sum(app.undelivered for app in backlog.apps)


def wait_for_backlog(target: str, at_most: int, timeout: float, interval: float = 0.2) -> float:
    """Waits until the store holds at most `at_most` undelivered events; returns
    time.monotonic() then."""
    give_up = time.monotonic() + timeout
    while (left := undelivered(target)) > at_most:
        if time.monotonic() > give_up:
            raise AssertionError(f"{left} events still undelivered after {timeout} s")
        time.sleep(interval)
    return time.monotonic()


def deliveries(target: str, action: str, *args: str) -> Any:
    """Runs `heap-destination deliveries ACTION --target TARGET --json ARGS`; its JSON."""
    finished = subprocess.run(
        [COMMAND, "deliveries", action, "--target", target, "--json", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout)


# Peeking into the store: which events a process held leased ("delivering") when it died.
_LEASED = "SELECT message_id, lease_owner FROM items WHERE status = 'delivering'"


def leased_in_sqlite(path: Path) -> dict[str, str]:
    """message_id -> lease owner ("host:pid") of every leased event in a SQLite store."""
    with closing(sqlite3.connect(path)) as db:
        return dict(db.execute(_LEASED).fetchall())


def leased_in_postgres(store_url: str) -> dict[str, str]:
    """message_id -> lease owner ("host:pid") of every leased event in a PostgreSQL store."""
    with psycopg.connect(store_url) as db:
        return {str(message_id): str(owner) for message_id, owner in db.execute(_LEASED)}


def statuses_in_postgres(store_url: str, ids: Iterable[str]) -> Counter[str]:
    """How many of the events with these message ids are in each status."""
    with psycopg.connect(store_url) as db:
        rows = db.execute(
            "SELECT status FROM items WHERE message_id = ANY(%s)", (list(ids),)
        ).fetchall()
    return Counter(str(status) for (status,) in rows)


def assert_copies_identical(simulator_url: str, keys: set[str]) -> None:
    """Every copy Heap got of each of these events is the same event: Heap drops a repeat
    by its idempotency key, which is only right when the repeat is the same event."""
    copies: dict[str, list[dict[str, Any]]] = {key: [] for key in keys}
    for event in tracked_events(simulator_url):
        if event["idempotency_key"] in copies:
            copies[event["idempotency_key"]].append(event)
    for key, same_event in copies.items():
        assert all(copy == same_event[0] for copy in same_event), key
