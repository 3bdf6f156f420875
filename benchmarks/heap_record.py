"""Checks what the Heap simulator accepted against what a scenario sent."""

from collections import Counter
from typing import Any

import aiohttp

from benchmarks.control import call, get_json
from benchmarks.scenarios import ScenarioFailed


async def clear(http: aiohttp.ClientSession, heap_url: str) -> None:
    await call(http, "DELETE", f"{heap_url}/_sim/requests")


async def check_delivered(
    http: aiohttp.ClientSession, heap_url: str, ids: list[str], flat_keys: set[str]
) -> int:
    """Fails unless Heap accepted each of `ids` exactly once, with properties `flat_keys`;
    returns the number of requests Heap accepted."""
    accepted: list[dict[str, Any]] = await get_json(http, f"{heap_url}/_sim/requests")
    events = [event for request in accepted for event in _tracked_events(request)]
    delivered = Counter(str(event.get("idempotency_key")) for event in events)
    expected = Counter(ids)
    if delivered != expected:
        missing, extra = expected - delivered, delivered - expected
        raise ScenarioFailed(
            f"Heap holds {len(events)} events for {len(ids)} sent: "
            f"{sum(missing.values())} missing, {sum(extra.values())} unexpected or repeated"
        )
    wrong = [event for event in events if set(event.get("properties", {})) != flat_keys]
    if wrong:
        raise ScenarioFailed(
            f"{len(wrong)} events reached Heap with other property keys than expected, "
            f"e.g. {sorted(wrong[0].get('properties', {}))}"
        )
    return len(accepted)


def _tracked_events(request: dict[str, Any]) -> list[dict[str, Any]]:
    if request["path"] != "/api/track":
        return []
    body: dict[str, Any] = request["body"]
    events: list[dict[str, Any]] = body.get("events", [body])
    return events
