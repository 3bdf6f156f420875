"""The budget scheduler against the real simulator enforcing Heap's documented limits,
with the minute scaled down to WINDOW seconds and the limits with it (or up to
LONG_WINDOW, longer than any run, where what a run shows must not depend on how fast
this machine is: nothing frees up during it). Told by counts, not by throughput: how
fast the scheduler delivers is measured by `make bench-one-app`."""

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from google.rpc import code_pb2

from heap_destination.client import in_messages, track_event
from heap_destination.delivery.engine import EngineSettings
from heap_destination.delivery.limits.adaptive_rate import AdaptiveRateSettings
from heap_destination.delivery.limits.budget_scheduler import SingleEventSettings
from heap_destination.delivery.limits.rate_limiter import RateLimitSettings
from heap_destination.sim import HeapSimulator, RateLimits
from heap_destination.v1 import config_pb2, stream_pb2
from tests.conftest import APP_ID
from tests.support.simulator_api import accepted, attempts
from tests.support.streaming import stream

WINDOW = 2.0
APP_LIMIT = 200
"""Events per window per app in bulk: 100 events/s."""
IDENTITY_LIMIT = 100
REQUESTS_PER_IDENTITY = 4
"""Single-event requests per half window per identity (Heap: 30 per 30 s)."""
LONG_WINDOW = 600.0
CONFIG = config_pb2.DestinationConfig(app_id=APP_ID)


def _engine(
    single_events: bool,
    max_batch: int = 1000,
    window: float = WINDOW,
    max_hold: float = 10 * WINDOW,
) -> EngineSettings:
    return EngineSettings(
        max_batch=max_batch,
        rate_limits=RateLimitSettings(APP_LIMIT, IDENTITY_LIMIT, window),
        single_events=SingleEventSettings(
            enabled=single_events,
            requests_per_window_per_identity=REQUESTS_PER_IDENTITY,
            window_seconds=window / 2,
            rate=AdaptiveRateSettings(max_hold=max_hold),
        ),
    )


def _heap_limits(
    single_events_count_against_app: bool = False, window: float = WINDOW
) -> RateLimits:
    return RateLimits(
        events_per_minute_per_app=APP_LIMIT,
        events_per_minute_per_identity=IDENTITY_LIMIT,
        requests_per_30s_per_identity=REQUESTS_PER_IDENTITY,
        window_seconds=window,
        single_events_count_against_app=single_events_count_against_app,
    )


def _paced(
    count: int, identities: int, per_second: float | None, per_message: int = 25
) -> Iterator[stream_pb2.StreamEventsRequest]:
    """`count` events over `identities`, offered at `per_second` (None: at once)."""
    events = [
        track_event(str(i), "Viewed", user_id=f"user-{i % identities}", properties={"n": i})
        for i in range(count)
    ]
    started = time.monotonic()
    for index, message in enumerate(in_messages(events, per_message, CONFIG)):
        if per_second is not None:
            time.sleep(max(0.0, started + index * per_message / per_second - time.monotonic()))
        yield message


def _bulk_only_bound(count: int) -> float:
    """The most events per second Heap's bulk limit lets `count` events reach: one
    window's worth at once, then APP_LIMIT per window."""
    return count / ((count / APP_LIMIT - 1) * WINDOW)


@dataclass(frozen=True)
class Run:
    events_per_second: float
    single_requests: int
    bulk_requests: int
    bulk_events: int
    share_429: float
    statuses: list[int]
    """Heap's answers to track requests, in the order it gave them."""
    singles_after_a_429: int
    """Single-event requests Heap got after its first 429 (the single path's probes)."""


def _run(
    simulator: HeapSimulator, service: Any, count: int, identities: int, offered: float | None
) -> Run:
    started = time.monotonic()
    results = stream(service.target, _paced(count, identities, offered))
    seconds = time.monotonic() - started

    assert Counter(r.code for r in results) == {code_pb2.OK: count}
    tracks = [r["body"] for r in accepted(simulator.url) if r["path"] == "/api/track"]
    keys = Counter(e["idempotency_key"] for b in tracks for e in b.get("events", [b]))
    assert keys == Counter(str(i) for i in range(count))
    tried = [a for a in attempts(simulator.url) if a["path"] == "/api/track"]
    statuses = [a["status"] for a in tried]
    first_429 = statuses.index(429) if 429 in statuses else len(tried)
    return Run(
        count / seconds,
        sum("events" not in b for b in tracks),
        sum("events" in b for b in tracks),
        sum(len(b["events"]) for b in tracks if "events" in b),
        statuses.count(429) / len(statuses),
        statuses,
        sum("events" not in a["body"] for a in tried[first_429 + 1 :]),
    )


@pytest.mark.slow
def test_one_app_with_many_identities_delivers_past_the_bulk_budget_as_single_events(
    simulator: HeapSimulator, start_service: Any
) -> None:
    """Within one window Heap takes APP_LIMIT events in bulk; every other event goes alone,
    each identity within its single-event limit (4 events each: all of them fit)."""
    simulator.set_rate_limits(_heap_limits(window=LONG_WINDOW))
    engine = _engine(single_events=True, window=LONG_WINDOW)
    service = start_service(base_url=simulator.url, engine=engine)

    run = _run(simulator, service, count=1_200, identities=300, offered=None)

    assert run.bulk_events <= APP_LIMIT, run.bulk_events
    assert run.single_requests >= 1_200 - APP_LIMIT, run.single_requests
    assert run.share_429 <= 0.01, run.share_429


@pytest.mark.slow
def test_when_heap_counts_single_events_against_the_app_it_falls_back_to_bulk(
    simulator: HeapSimulator, start_service: Any
) -> None:
    """Bulk requests of at most 10 events, over a few windows: Heap's first 429s to single
    events make the scheduler hold the single path (longer than the run, here), so that
    few single-event requests follow and every event arrives in bulk within Heap's limit."""
    simulator.set_rate_limits(_heap_limits(single_events_count_against_app=True))
    engine = _engine(single_events=True, max_batch=10, max_hold=LONG_WINDOW)
    service = start_service(base_url=simulator.url, engine=engine)

    run = _run(simulator, service, count=1_400, identities=300, offered=500)

    print(
        f"\n429s {run.statuses.count(429)} of {len(run.statuses)}; probes {run.singles_after_a_429}"
    )
    assert run.singles_after_a_429 <= MOST_PROBES, run.singles_after_a_429
    assert run.statuses.count(429) <= MOST_PROBES + 1, run.statuses


MOST_PROBES = 3
"""After Heap's first 429 the hold grows eightfold with each further one (Retry-After,
then 8 and 64 times it): a run of a few windows has room for two probes, and a third."""


@pytest.mark.slow
def test_with_the_scheduler_off_delivery_is_bulk_only_under_the_bulk_cap(
    simulator: HeapSimulator, start_service: Any
) -> None:
    simulator.set_rate_limits(_heap_limits())
    service = start_service(base_url=simulator.url, engine=_engine(single_events=False))

    run = _run(simulator, service, count=600, identities=300, offered=500)

    assert run.single_requests == 0, run
    assert run.events_per_second <= _bulk_only_bound(600), run
    assert run.share_429 == 0, run
