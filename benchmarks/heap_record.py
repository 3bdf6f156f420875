"""Checks what the Heap simulator accepted against what a scenario sent."""

from collections import Counter
from typing import Any

import httpx

from benchmarks.scenarios import ScenarioFailed

CONTROL_TIMEOUT = 120.0
"""Seconds for a /_sim call; listing 50,000 large events takes a few seconds."""


async def clear(http: httpx.AsyncClient, heap_url: str) -> None:
    response = await http.delete(f"{heap_url}/_sim/requests", timeout=CONTROL_TIMEOUT)
    response.raise_for_status()


async def check_delivered(
    http: httpx.AsyncClient, heap_url: str, ids: list[str], flat_keys: set[str]
) -> int:
    """Fails unless Heap accepted each of `ids` exactly once, with properties `flat_keys`;
    returns the number of requests Heap accepted."""
    accepted = await _get(http, f"{heap_url}/_sim/requests")
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


async def _get(http: httpx.AsyncClient, url: str) -> list[dict[str, Any]]:
    response = await http.get(url, timeout=CONTROL_TIMEOUT)
    response.raise_for_status()
    records: list[dict[str, Any]] = response.json()
    return records
