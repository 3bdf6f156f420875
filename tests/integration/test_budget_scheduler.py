"""The budget scheduler against the real simulator enforcing Heap's documented limits,
with the minute scaled down to WINDOW seconds and the limits with it."""

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

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
BULK_CAP = APP_LIMIT / WINDOW
CONFIG = config_pb2.DestinationConfig(app_id=APP_ID)


def _engine(single_events: bool, max_batch: int = 1000) -> EngineSettings:
    return EngineSettings(
        max_batch=max_batch,
        rate_limits=RateLimitSettings(APP_LIMIT, IDENTITY_LIMIT, WINDOW),
        single_events=SingleEventSettings(
            enabled=single_events,
            requests_per_window_per_identity=REQUESTS_PER_IDENTITY,
            window_seconds=WINDOW / 2,
            rate=AdaptiveRateSettings(max_hold=10 * WINDOW),
        ),
    )


def _heap_limits(single_events_count_against_app: bool = False) -> RateLimits:
    return RateLimits(
        events_per_minute_per_app=APP_LIMIT,
        events_per_minute_per_identity=IDENTITY_LIMIT,
        requests_per_30s_per_identity=REQUESTS_PER_IDENTITY,
        window_seconds=WINDOW,
        single_events_count_against_app=single_events_count_against_app,
    )


def _paced(
    count: int, identities: int, per_second: float, per_message: int = 25
) -> Iterator[stream_pb2.StreamEventsRequest]:
    """`count` events over `identities`, offered at `per_second`."""
    events = [
        track_event(str(i), "Viewed", user_id=f"user-{i % identities}", properties={"n": i})
        for i in range(count)
    ]
    started = time.monotonic()
    for index, message in enumerate(in_messages(events, per_message, CONFIG)):
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
    share_429: float


def _run(
    simulator: HeapSimulator, service: Any, count: int, identities: int, offered: float
) -> Run:
    started = time.monotonic()
    results = stream(service.target, _paced(count, identities, offered))
    seconds = time.monotonic() - started

    assert Counter(r.code for r in results) == {code_pb2.OK: count}
    tracks = [r["body"] for r in accepted(simulator.url) if r["path"] == "/api/track"]
    keys = Counter(e["idempotency_key"] for b in tracks for e in b.get("events", [b]))
    assert keys == Counter(str(i) for i in range(count))
    statuses = [a["status"] for a in attempts(simulator.url)]
    return Run(
        count / seconds,
        sum("events" not in b for b in tracks),
        sum("events" in b for b in tracks),
        statuses.count(429) / len(statuses),
    )


def test_one_app_with_many_identities_delivers_well_past_the_bulk_cap(
    simulator: HeapSimulator, start_service: Any
) -> None:
    simulator.set_rate_limits(_heap_limits())
    service = start_service(base_url=simulator.url, engine=_engine(single_events=True))

    run = _run(simulator, service, count=3_000, identities=300, offered=500)

    assert run.events_per_second > 2 * _bulk_only_bound(3_000), run
    assert run.single_requests > run.bulk_requests, run
    assert run.share_429 <= 0.01, run


def test_when_heap_counts_single_events_against_the_app_it_converges_to_the_bulk_cap(
    simulator: HeapSimulator, start_service: Any
) -> None:
    """Bulk requests of at most 10 events: a run of a few windows then makes enough
    requests (about 150) for 2% of them to count the 429 that finds out, and a probe."""
    simulator.set_rate_limits(_heap_limits(single_events_count_against_app=True))
    service = start_service(
        base_url=simulator.url, engine=_engine(single_events=True, max_batch=10)
    )

    run = _run(simulator, service, count=1_400, identities=300, offered=500)

    assert 0.8 * BULK_CAP < run.events_per_second <= _bulk_only_bound(1_400), run
    assert run.share_429 < 0.02, run


def test_with_the_scheduler_off_delivery_is_bulk_only_under_the_bulk_cap(
    simulator: HeapSimulator, start_service: Any
) -> None:
    simulator.set_rate_limits(_heap_limits())
    service = start_service(base_url=simulator.url, engine=_engine(single_events=False))

    run = _run(simulator, service, count=600, identities=300, offered=500)

    assert run.single_requests == 0, run
    assert run.events_per_second <= _bulk_only_bound(600), run
    assert run.share_429 == 0, run
