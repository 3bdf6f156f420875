"""A live event that waits for room under Heap's rate limits is counted, with its wait,
by app_id (heap_destination_rate_limited_events_total{path="live"},
heap_destination_rate_limit_wait_seconds_total)."""

import asyncio
import time
from collections.abc import Callable

from prometheus_client import REGISTRY

from heap_destination.delivery.engine import DeliveryEngine
from heap_destination.delivery.limits.rate_limiter import RateLimitSettings
from heap_destination.domain.destination import Destination
from heap_destination.domain.track import TrackInput, prepare_track
from heap_destination.sim import HeapSimulator

WINDOW = 0.3
ONE_EVENT_PER_WINDOW = RateLimitSettings(
    events_per_window_per_app=1, events_per_window_per_identity=None, window_seconds=WINDOW
)


def waits(app_id: str) -> tuple[float, float]:
    events = REGISTRY.get_sample_value(
        "heap_destination_rate_limited_events_total", {"app_id": app_id, "path": "live"}
    )
    seconds = REGISTRY.get_sample_value(
        "heap_destination_rate_limit_wait_seconds_total", {"app_id": app_id}
    )
    return events or 0.0, seconds or 0.0


async def test_an_event_past_the_apps_limit_waits_and_its_wait_is_counted(
    sim: HeapSimulator, destination: Destination, make_engine: Callable[..., DeliveryEngine]
) -> None:
    engine = make_engine(rate_limits=ONE_EVENT_PER_WINDOW)
    events_before, seconds_before = waits(destination.app_id)
    deadline = time.monotonic() + 10

    def track(user_id: str) -> asyncio.Future[object]:
        prepared = prepare_track(TrackInput(user_id=user_id, event="Signed Up"), destination)
        return asyncio.ensure_future(engine.submit_track(destination, prepared, deadline))

    await (await track("user-1"))  # admitted at once, and delivered
    await (await track("user-2"))  # admitted once the first has left the window

    events, seconds = waits(destination.app_id)
    assert events - events_before == 1
    assert WINDOW * 0.5 <= seconds - seconds_before < 5
    assert len(sim.accepted()) == 2
