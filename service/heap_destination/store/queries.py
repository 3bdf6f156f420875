"""The SQL both engines run, written once with `?` placeholders.

Each function returns (sql, parameters). PostgreSQL runs the same text through
`postgres_sql`. Functions that take ids take at most ID_CHUNK of them (see `chunks`).
"""

import json
from collections.abc import Iterator, Mapping, Sequence
from itertools import chain
from typing import TypeVar

from heap_destination.store.items import INSERT_COLUMNS, ITEM_COLUMNS, clipped_heap_body

Query = tuple[str, tuple[object, ...]]
V = TypeVar("V")

ID_CHUNK = 500
PENDING = "status IN ('stored', 'delivering')"
# An app with a hold in force (paused, or held until later than the parameter) waits.
NOT_HELD = "app_id NOT IN (SELECT app_id FROM app_holds WHERE paused OR held_until > ?)"
PING = "SELECT 1"
# What a purged item keeps of its body: the JSON object it was, without the values.
PURGED_BODY = b"{}"
# A purge's identities travel as one JSON array parameter, so that however many there
# are, each statement scans the app's items once.
SQLITE_IDENTITIES = "SELECT value FROM json_each(?)"
POSTGRES_IDENTITIES = "SELECT jsonb_array_elements_text(?::jsonb)"

_ITEM_VALUES = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
INSERT_ITEM = f"INSERT INTO items ({INSERT_COLUMNS}) VALUES {_ITEM_VALUES}"


def postgres_sql(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


def chunks(values: Sequence[V]) -> Iterator[tuple[V, ...]]:
    for start in range(0, len(values), ID_CHUNK):
        yield tuple(values[start : start + ID_CHUNK])


def _in(ids: Sequence[object]) -> str:
    return ", ".join("?" * len(ids))


def insert_items(rows: Sequence[Sequence[object]]) -> Query:
    """One INSERT of at most ID_CHUNK rows of INSERT_COLUMNS' values: SQLite takes a
    statement of many rows for about half the time of as many statements of one."""
    values = ", ".join([_ITEM_VALUES] * len(rows))
    return (
        f"INSERT INTO items ({INSERT_COLUMNS}) VALUES {values}",
        tuple(chain.from_iterable(rows)),
    )


def pending_per_app() -> Query:
    return f"SELECT app_id, COUNT(*) FROM items WHERE {PENDING} GROUP BY app_id", ()


def pending_among(ids: Sequence[int]) -> Query:
    """Per app, how many of `ids` are undelivered."""
    return (
        f"SELECT app_id, COUNT(*) FROM items WHERE {PENDING} AND id IN ({_in(ids)}) "
        "GROUP BY app_id",
        tuple(ids),
    )


def claim_head(now: float, lock: str = "") -> Query:
    """The group of the oldest due item of an app without a hold in force."""
    return (
        f"SELECT app_id, base_url, endpoint FROM items WHERE {PENDING} AND due_at <= ? "
        f"AND {NOT_HELD} ORDER BY id LIMIT 1{lock}",
        (now, now),
    )


def claim_group(
    worker: str,
    now: float,
    lease_seconds: float,
    head: Sequence[object],
    limit: int,
    lock: str = "",
) -> Query:
    """PostgreSQL's claim (SQLite's is below: sqlite_claimable_ids and what follows)."""
    return (
        "UPDATE items SET status = 'delivering', lease_owner = ?, due_at = ?, "
        "attempts = attempts + 1 WHERE id IN ("
        f"SELECT id FROM items WHERE {PENDING} AND due_at <= ? AND {NOT_HELD} "
        f"AND app_id = ? AND base_url = ? AND endpoint = ? ORDER BY id LIMIT ?{lock}) "
        f"RETURNING {ITEM_COLUMNS}",
        (worker, now + lease_seconds, now, now, *head, limit),
    )


# SQLite's Python driver lets go of the GIL and takes it back for every row it reads, and
# each time waits for the event loop's thread to hand it over (up to the interpreter's
# switch interval): a claim of 1000 rows read row by row held the store's thread, and
# every commit behind it, for up to a quarter of a second while calls kept the loop busy.
# So SQLite claims in statements of one row each: the ids, the lease, then the items as
# one JSON array, their bodies in hex (any bytes at all) and their times written with 17
# digits (SQLite's JSON keeps 15: not enough for a time in seconds to the microsecond).
# That text holds a claim's bodies about five times over on their way to bytes, so a
# claim takes bodies of at most SQLITE_CLAIM_BYTES in all (and always its first item).
SQLITE_CLAIM_BYTES = 8 << 20
SQLITE_IDS = "SELECT value FROM json_each(?)"
_JSON_FLOAT = "CASE WHEN {0} IS NULL THEN NULL ELSE printf('%!.17g', {0}) END"
_JSON_ITEM = (
    "json_array(id, app_id, base_url, endpoint, identity, idempotency_key, "
    "hex(body), message_id, stream_event_id, "
    f"{_JSON_FLOAT.format('accepted_at')}, attempts, status, last_error, heap_status, "
    f"heap_body, {_JSON_FLOAT.format('delivered_at')}, {_JSON_FLOAT.format('replayed_at')})"
)


def sqlite_claimable_ids(
    now: float, head: Sequence[object], limit: int, max_bytes: int = SQLITE_CLAIM_BYTES
) -> Query:
    """The ids of the group's first claimable items, as one JSON array: at most `limit`,
    with bodies of at most `max_bytes` in all, or the first alone if it is larger."""
    return (
        "SELECT json_group_array(id) FROM ("
        "SELECT id, SUM(size) OVER (ORDER BY id) AS bytes, "
        "ROW_NUMBER() OVER (ORDER BY id) AS n FROM ("
        f"SELECT id, length(body) AS size FROM items WHERE {PENDING} AND due_at <= ? "
        f"AND {NOT_HELD} "
        "AND app_id = ? AND base_url = ? AND endpoint = ? ORDER BY id LIMIT ?)"
        ") WHERE n = 1 OR bytes <= ?",
        (now, now, *head, limit, max_bytes),
    )


def sqlite_lease(worker: str, until: float, ids_json: str) -> Query:
    return (
        "UPDATE items SET status = 'delivering', lease_owner = ?, due_at = ?, "
        f"attempts = attempts + 1 WHERE id IN ({SQLITE_IDS})",
        (worker, until, ids_json),
    )


def sqlite_items_json(ids_json: str) -> Query:
    """The items of the JSON array of ids, as one JSON array of ITEM_COLUMNS' values
    (see items.stored_items_from_json)."""
    return (
        f"SELECT json_group_array({_JSON_ITEM}) FROM items WHERE id IN ({SQLITE_IDS})",
        (ids_json,),
    )


def mark_delivered(ids: Sequence[int], heap_status: int, now: float) -> Query:
    return (
        "UPDATE items SET status = 'delivered', heap_status = ?, delivered_at = ?, "
        f"lease_owner = NULL WHERE id IN ({_in(ids)})",
        (heap_status, now, *ids),
    )


def mark_failed(
    ids: Sequence[int], error: str, heap_status: int | None, heap_body: str, retry_at: float
) -> Query:
    return (
        "UPDATE items SET status = 'stored', last_error = ?, heap_status = ?, heap_body = ?, "
        f"due_at = ?, lease_owner = NULL WHERE {PENDING} AND id IN ({_in(ids)})",
        (error, heap_status, clipped_heap_body(heap_body), retry_at, *ids),
    )


def renew_leases(ids: Sequence[int], worker: str, until: float) -> Query:
    return (
        "UPDATE items SET due_at = ? "
        f"WHERE status = 'delivering' AND lease_owner = ? AND id IN ({_in(ids)})",
        (until, worker, *ids),
    )


def release(ids: Sequence[int], due_at: float) -> Query:
    return (
        "UPDATE items SET status = 'stored', "
        "attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, due_at = ?, "
        f"lease_owner = NULL WHERE {PENDING} AND id IN ({_in(ids)})",
        (due_at, *ids),
    )


def mark_dead(ids: Sequence[int], reason: str, heap_status: int | None, heap_body: str) -> Query:
    return (
        "UPDATE items SET status = 'dead', last_error = ?, heap_status = ?, heap_body = ?, "
        f"lease_owner = NULL WHERE {PENDING} AND id IN ({_in(ids)})",
        (reason, heap_status, clipped_heap_body(heap_body), *ids),
    )


def purge_pending(app_id: str, identities: Sequence[str], reason: str, identity_set: str) -> Query:
    """The identities' undelivered items die with `reason`, their bodies emptied.

    `identity_set` is the engine's SQLITE_IDENTITIES or POSTGRES_IDENTITIES."""
    return (
        "UPDATE items SET status = 'dead', last_error = ?, heap_status = NULL, heap_body = '', "
        f"body = ?, lease_owner = NULL WHERE {PENDING} AND app_id = ? "
        f"AND identity IN ({identity_set})",
        (reason, PURGED_BODY, app_id, json.dumps(list(identities))),
    )


def purge_finished(app_id: str, identities: Sequence[str], reason: str, identity_set: str) -> Query:
    """The identities' delivered and dead items keep their status but lose their bodies;
    dead ones take `reason`, so that no replay filter picks them by their old one."""
    return (
        "UPDATE items SET body = ?, heap_body = '', "
        "last_error = CASE WHEN status = 'dead' THEN ? ELSE last_error END "
        "WHERE status IN ('delivered', 'dead') AND app_id = ? "
        f"AND identity IN ({identity_set})",
        (PURGED_BODY, reason, app_id, json.dumps(list(identities))),
    )


def dead_letters(
    app_id: str | None,
    reason_contains: str | None,
    limit: int,
    after_id: int | None,
    message_id: str | None = None,
    item_id: int | None = None,
) -> Query:
    sql, parameters = _dead(
        f"SELECT {ITEM_COLUMNS} FROM items", [], app_id, reason_contains, message_id, item_id
    )
    if after_id is not None:
        sql += " AND id > ?"
        parameters.append(after_id)
    sql += " ORDER BY id LIMIT ?"
    parameters.append(limit)
    return sql, tuple(parameters)


def replay_dead(
    app_id: str | None,
    reason_contains: str | None,
    now: float,
    message_id: str | None = None,
    item_id: int | None = None,
) -> Query:
    """The dead items become "stored" with fresh attempts and a fresh retry age; those
    taken only as dead letters (not replayable: invalid Segment items) stay dead."""
    sql, parameters = _dead(
        "UPDATE items SET status = 'stored', attempts = 0, due_at = ?, replayed_at = ?, "
        "lease_owner = NULL",
        [now, now],
        app_id,
        reason_contains,
        message_id,
        item_id,
    )
    return f"{sql} AND replayable = 1", tuple(parameters)


def purge_dead(
    app_id: str | None,
    reason_contains: str | None,
    message_id: str | None = None,
    item_id: int | None = None,
) -> Query:
    sql, parameters = _dead("DELETE FROM items", [], app_id, reason_contains, message_id, item_id)
    return sql, tuple(parameters)


def backlog(delivered_since: float) -> Query:
    return (
        "SELECT app_id, "
        f"COUNT(CASE WHEN {PENDING} THEN 1 END), "
        f"MIN(CASE WHEN {PENDING} THEN accepted_at END), "
        "COUNT(CASE WHEN status = 'delivered' THEN 1 END) "
        f"FROM items WHERE {PENDING} OR (status = 'delivered' AND delivered_at >= ?) "
        "GROUP BY app_id ORDER BY app_id",
        (delivered_since,),
    )


def prune(older_than: float) -> Query:
    return (
        "DELETE FROM items WHERE status IN ('delivered', 'dead') AND accepted_at < ?",
        (older_than,),
    )


def _dead(
    statement: str,
    parameters: list[object],
    app_id: str | None,
    reason_contains: str | None,
    message_id: str | None,
    item_id: int | None,
) -> tuple[str, list[object]]:
    """`statement` for the dead items a filter selects: every condition not None (an
    empty message_id or reason_contains is none either)."""
    sql = f"{statement} WHERE status = 'dead'"
    parameters = list(parameters)
    for condition, value in (
        ("app_id = ?", app_id),
        ("message_id = ? AND message_id <> ''", message_id or None),
        ("id = ?", item_id),
    ):
        if value is not None:
            sql += f" AND {condition}"
            parameters.append(value)
    return _with_reason(sql, parameters, reason_contains)


def _with_reason(
    sql: str, parameters: list[object], reason_contains: str | None
) -> tuple[str, list[object]]:
    """Adds the condition that last_error contains `reason_contains`, ignoring case."""
    if not reason_contains:
        return sql, parameters
    pattern = f"%{_like_escaped(reason_contains.lower())}%"
    return f"{sql} AND LOWER(last_error) LIKE ? ESCAPE '!'", [*parameters, pattern]


def _like_escaped(text: str) -> str:
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")


def hold_app(app_id: str, until: float, reason: str) -> Query:
    """Keeps the later of the existing and the new hold, and any pause."""
    return (
        "INSERT INTO app_holds (app_id, held_until, paused, reason) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (app_id) DO UPDATE SET held_until = CASE "
        "WHEN app_holds.held_until IS NULL OR app_holds.held_until < excluded.held_until "
        "THEN excluded.held_until ELSE app_holds.held_until END, reason = excluded.reason",
        (app_id, until, False, reason),
    )


def pause_app(app_id: str, reason: str) -> Query:
    return (
        "INSERT INTO app_holds (app_id, held_until, paused, reason) VALUES (?, NULL, ?, ?) "
        "ON CONFLICT (app_id) DO UPDATE SET paused = excluded.paused, reason = excluded.reason",
        (app_id, True, reason),
    )


def resume_apps(app_id: str | None) -> Query:
    """Deletes the holds; returns (app_id, paused) of each."""
    if app_id is None:
        return "DELETE FROM app_holds RETURNING app_id, paused", ()
    return "DELETE FROM app_holds WHERE app_id = ? RETURNING app_id, paused", (app_id,)


def holds(now: float) -> Query:
    return (
        "SELECT app_id, held_until, paused, reason FROM app_holds "
        "WHERE paused OR held_until > ? ORDER BY app_id",
        (now,),
    )


INSERT_LEDGER = (
    "INSERT INTO budget_ledger (reservation, app_id, identity, events, counted_at) "
    "VALUES (?, ?, ?, ?, ?)"
)


def ledger_expire(app_id: str, cutoff: float) -> Query:
    return "DELETE FROM budget_ledger WHERE app_id = ? AND counted_at <= ?", (app_id, cutoff)


def ledger_app_used(app_id: str, cutoff: float) -> Query:
    return (
        "SELECT COALESCE(SUM(events), 0) FROM budget_ledger WHERE app_id = ? AND counted_at > ?",
        (app_id, cutoff),
    )


def ledger_identities_used(app_id: str, identities: Sequence[str], cutoff: float) -> Query:
    return (
        "SELECT identity, SUM(events) FROM budget_ledger WHERE app_id = ? AND counted_at > ? "
        f"AND identity IN ({_in(identities)}) GROUP BY identity",
        (app_id, cutoff, *identities),
    )


def ledger_expiring(app_id: str, cutoff: float, events: int, identity: str | None) -> Query:
    """The counted_at of the row whose expiry, with every older row's, frees `events` of
    the app's (or of one identity's) counted events; NULL when they cannot."""
    of_identity = "" if identity is None else " AND identity = ?"
    return (
        "SELECT MIN(counted_at) FROM (SELECT counted_at, SUM(events) "
        "OVER (ORDER BY counted_at, id) AS freed FROM budget_ledger "
        f"WHERE app_id = ? AND counted_at > ?{of_identity}) AS expiring WHERE freed >= ?",
        (app_id, cutoff, *(() if identity is None else (identity,)), events),
    )


def ledger_expirings(
    app_id: str, cutoff: float, app_events: int, identity_events: Mapping[str, int]
) -> list[Query]:
    """ledger_expiring for the app's shortfall (when any) and each identity's."""
    app = [ledger_expiring(app_id, cutoff, app_events, None)] if app_events > 0 else []
    return app + [
        ledger_expiring(app_id, cutoff, events, identity)
        for identity, events in identity_events.items()
    ]


def ledger_rows(
    reservation: str, app_id: str, granted: Mapping[str, int], now: float
) -> list[tuple[object, ...]]:
    """The values of INSERT_LEDGER: one row per identity granted any events."""
    return [
        (reservation, app_id, identity, events, now)
        for identity, events in granted.items()
        if events > 0
    ]


def settle(reservation: str, now: float) -> Query:
    return "UPDATE budget_ledger SET counted_at = ? WHERE reservation = ?", (now, reservation)


def refund(reservation: str) -> Query:
    return "DELETE FROM budget_ledger WHERE reservation = ?", (reservation,)
