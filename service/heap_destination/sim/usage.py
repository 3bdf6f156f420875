"""What a valid Heap request counts toward the rate limits."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from heap_destination.sim.validation import ENDPOINTS, TRACK_PATH


@dataclass(frozen=True)
class RequestUsage:
    app_id: str
    events_by_identity: Mapping[str, int]
    """Tracked events per identity key; empty for every endpoint but /api/track."""
    identities: frozenset[str]
    """Distinct identity keys the request carries."""
    bulk: bool = False
    """Whether the request is in a bulk form (events, users or accounts)."""

    @property
    def event_count(self) -> int:
        return sum(self.events_by_identity.values())


def usage_of(path: str, body: Mapping[str, object]) -> RequestUsage:
    """Reads the usage of a body that `validation.validate` accepted."""
    records = _records(path, body)
    keys = [key for key in map(_identity_key, records) if key is not None]
    events = Counter(keys) if path == TRACK_PATH else Counter[str]()
    bulk_key = ENDPOINTS[path].bulk_key
    bulk = bulk_key is not None and bulk_key in body
    return RequestUsage(str(body["app_id"]), events, frozenset(keys), bulk)


def _records(path: str, body: Mapping[str, object]) -> list[Mapping[str, object]]:
    bulk_key = ENDPOINTS[path].bulk_key
    items = body.get(bulk_key) if bulk_key is not None else None
    if isinstance(items, list):
        return [item for item in items if isinstance(item, dict)]
    return [body]


def _identity_key(record: Mapping[str, object]) -> str | None:
    # Prefixed so that identity "42" and user_id "42", different users to Heap, never share.
    if "identity" in record:
        return f"identity:{record['identity']}"
    if "user_id" in record:
        return f"user_id:{record['user_id']}"
    return None
