"""The simulator's test endpoints, over real HTTP."""

from typing import Any

from tests.support import http_client


def accepted(simulator_url: str) -> list[dict[str, Any]]:
    requests: list[dict[str, Any]] = http_client.get(f"{simulator_url}/_sim/requests").json()
    return requests


def attempts(simulator_url: str) -> list[dict[str, Any]]:
    requests: list[dict[str, Any]] = http_client.get(f"{simulator_url}/_sim/attempts").json()
    return requests


def inject_fault(simulator_url: str, **fault: Any) -> None:
    http_client.post(f"{simulator_url}/_sim/faults", json=fault).raise_for_status()


def faults(simulator_url: str) -> list[dict[str, Any]]:
    """The faults still to apply (a fault with a count leaves once used up)."""
    listed: list[dict[str, Any]] = http_client.get(f"{simulator_url}/_sim/faults").json()
    return listed


def tracked_events(simulator_url: str) -> list[dict[str, Any]]:
    """Every event Heap accepted, single or bulk, each with its request's app_id."""
    return _records(accepted(simulator_url), "/api/track", "events")


def user_property_updates(simulator_url: str) -> list[dict[str, Any]]:
    """Every user-properties update Heap accepted, single or bulk, with its app_id."""
    return _records(accepted(simulator_url), "/api/add_user_properties", "users")


def _records(requests: list[dict[str, Any]], path: str, bulk_key: str) -> list[dict[str, Any]]:
    records = []
    for request in requests:
        if request["path"] != path:
            continue
        body = request["body"]
        if bulk_key in body:
            records += [{"app_id": body["app_id"], **item} for item in body[bulk_key]]
        else:
            records.append(dict(body))
    return records


def account_updates(simulator_url: str) -> list[dict[str, Any]]:
    """Every account-properties update Heap accepted, single or bulk, with its app_id."""
    return _records(accepted(simulator_url), "/api/add_account_properties", "accounts")
