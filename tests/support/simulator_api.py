"""The simulator's test endpoints, over real HTTP."""

from typing import Any

import httpx


def accepted(simulator_url: str) -> list[dict[str, Any]]:
    requests: list[dict[str, Any]] = httpx.get(f"{simulator_url}/_sim/requests").json()
    return requests


def attempts(simulator_url: str) -> list[dict[str, Any]]:
    requests: list[dict[str, Any]] = httpx.get(f"{simulator_url}/_sim/attempts").json()
    return requests


def inject_fault(simulator_url: str, **fault: Any) -> None:
    httpx.post(f"{simulator_url}/_sim/faults", json=fault).raise_for_status()
