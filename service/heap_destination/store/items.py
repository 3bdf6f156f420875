"""What the store keeps: accepted Heap work in its final form, and its delivery state."""

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

Endpoint = Literal["track", "user_properties", "identify", "account_properties"]
Status = Literal["stored", "delivering", "delivered", "dead"]

ENDPOINTS: tuple[Endpoint, ...] = ("track", "user_properties", "identify", "account_properties")
HEAP_BODY_LIMIT = 500


@dataclass
class NewItem:
    """One piece of accepted work, as a caller hands it to `Store.append`.

    `body` is the item's own JSON object exactly as delivery puts it into a bulk body;
    the store never looks inside it.
    """

    app_id: str
    base_url: str
    endpoint: Endpoint
    identity: str
    body: bytes
    idempotency_key: str | None = None
    message_id: str = ""
    stream_event_id: str = ""
    accepted_at: float = field(default_factory=time.time)
    dead: str | None = None
    """For an item taken only to be kept as a dead letter (an invalid Segment item): why
    it is one. It is never delivered, and replay leaves it alone; purge removes it."""


@dataclass(slots=True)
class StoredItem:
    id: int
    app_id: str
    base_url: str
    endpoint: Endpoint
    identity: str
    idempotency_key: str | None
    body: bytes
    message_id: str
    stream_event_id: str
    accepted_at: float
    attempts: int
    status: Status
    last_error: str
    heap_status: int | None
    heap_body: str
    delivered_at: float | None
    replayed_at: float | None = None
    """When an operator last replayed it as a dead letter; None if never."""

    @property
    def retry_age_from(self) -> float:
        """When its retries started: its last replay, else its acceptance. Delivery gives
        up on it --max-retry-age after this."""
        return self.accepted_at if self.replayed_at is None else self.replayed_at


@dataclass(frozen=True)
class AppBacklog:
    app_id: str
    undelivered: int
    oldest_age_seconds: float
    """Age of the oldest undelivered item; 0 when nothing is undelivered."""
    delivered_last_minute: int
    paused: bool = False
    """An operator paused the app's delivery until resumed."""
    held_until: float | None = None
    """Delivery of the app waits until then (Retry-After, budget); None when not held."""


@dataclass(frozen=True)
class AppHold:
    """A hold in force on an app's delivery: a pause, or a wait until `until`."""

    app_id: str
    until: float | None
    """None when paused."""
    paused: bool
    reason: str


# The column order both engines select, matching StoredItem's fields.
ITEM_COLUMNS = (
    "id, app_id, base_url, endpoint, identity, idempotency_key, body, message_id, "
    "stream_event_id, accepted_at, attempts, status, last_error, heap_status, heap_body, "
    "delivered_at, replayed_at"
)
_BODY = ITEM_COLUMNS.split(", ").index("body")


def stored_item(row: Sequence[Any]) -> StoredItem:
    """A StoredItem from a row of ITEM_COLUMNS; delivery makes one per claimed item, so
    values already of the right type are taken as they are."""
    (
        item_id,
        app_id,
        base_url,
        endpoint,
        identity,
        idempotency_key,
        body,
        message_id,
        stream_event_id,
        accepted_at,
        attempts,
        status,
        last_error,
        heap_status,
        heap_body,
        delivered_at,
        replayed_at,
    ) = row
    return StoredItem(
        item_id if type(item_id) is int else int(item_id),
        app_id,
        base_url,
        endpoint,
        identity,
        idempotency_key,
        body if type(body) is bytes else bytes(body),
        message_id,
        stream_event_id,
        accepted_at if type(accepted_at) is float else float(accepted_at),
        attempts if type(attempts) is int else int(attempts),
        status,
        last_error,
        None if heap_status is None else int(heap_status),
        heap_body,
        None if delivered_at is None else float(delivered_at),
        None if replayed_at is None else float(replayed_at),
    )


def stored_items_from_json(text: str) -> list[StoredItem]:
    """StoredItems from queries.sqlite_items_json's array: rows of ITEM_COLUMNS' values,
    bodies in hex and times as the text of their full value."""
    items = []
    for row in orjson.loads(text):
        row[_BODY] = bytes.fromhex(row[_BODY])
        items.append(stored_item(row))
    return items


def new_item_row(item: NewItem) -> tuple[object, ...]:
    """The values of INSERT_COLUMNS for one new item."""
    return (
        item.app_id,
        item.base_url,
        item.endpoint,
        item.identity,
        item.idempotency_key,
        item.body,
        item.message_id,
        item.stream_event_id,
        item.accepted_at,
        0.0,  # due_at: claimable at once, whatever the caller's clock says
        "stored" if item.dead is None else "dead",
        item.dead or "",
        1 if item.dead is None else 0,  # replayable
    )


INSERT_COLUMNS = (
    "app_id, base_url, endpoint, identity, idempotency_key, body, message_id, "
    "stream_event_id, accepted_at, due_at, status, last_error, replayable"
)


def clipped_heap_body(heap_body: str) -> str:
    return heap_body[:HEAP_BODY_LIMIT]


def app_backlogs(
    rows: Sequence[Sequence[Any]], hold_rows: Sequence[Sequence[Any]], now: float
) -> list[AppBacklog]:
    """AppBacklogs from the rows of queries.backlog and of queries.holds; a paused app is
    listed even with nothing to show."""
    counts = {app_id: (int(n), oldest, int(delivered)) for app_id, n, oldest, delivered in rows}
    holds = {app_id: (bool(paused), held_until) for app_id, held_until, paused, _ in hold_rows}
    paused_apps = {app_id for app_id, (paused, _) in holds.items() if paused}
    backlogs: list[AppBacklog] = []
    for app_id in sorted(counts.keys() | paused_apps):
        undelivered, oldest, delivered = counts.get(app_id, (0, None, 0))
        paused, held_until = holds.get(app_id, (False, None))
        backlogs.append(
            AppBacklog(
                app_id=app_id,
                undelivered=undelivered,
                oldest_age_seconds=0.0 if oldest is None else max(0.0, now - float(oldest)),
                delivered_last_minute=delivered,
                paused=paused,
                held_until=_in_force(held_until, now),
            )
        )
    return backlogs


def app_holds(rows: Sequence[Sequence[Any]]) -> list[AppHold]:
    """AppHolds from the rows of queries.holds."""
    return [
        AppHold(
            app_id=app_id,
            until=None if paused else float(held_until),
            paused=bool(paused),
            reason=reason,
        )
        for app_id, held_until, paused, reason in rows
    ]


def _in_force(held_until: float | None, now: float) -> float | None:
    if held_until is None or held_until <= now:
        return None
    return float(held_until)
