"""The SQL both engines run, written once with `?` placeholders.

Each function returns (sql, parameters). PostgreSQL runs the same text through
`postgres_sql`. Functions that take ids take at most ID_CHUNK of them (see `chunks`).
"""

from collections.abc import Iterator, Sequence

from heap_destination.store.items import INSERT_COLUMNS, ITEM_COLUMNS, clipped_heap_body

Query = tuple[str, tuple[object, ...]]

ID_CHUNK = 500
PENDING = "status IN ('stored', 'delivering')"

INSERT_ITEM = f"INSERT INTO items ({INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


def postgres_sql(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


def chunks(ids: Sequence[int]) -> Iterator[tuple[int, ...]]:
    for start in range(0, len(ids), ID_CHUNK):
        yield tuple(ids[start : start + ID_CHUNK])


def _in(ids: Sequence[object]) -> str:
    return ", ".join("?" * len(ids))


def pending_total() -> Query:
    return f"SELECT COUNT(*) FROM items WHERE {PENDING}", ()


def pending_by_app(app_ids: Sequence[str]) -> Query:
    return (
        f"SELECT app_id, COUNT(*) FROM items WHERE {PENDING} AND app_id IN ({_in(app_ids)}) "
        "GROUP BY app_id",
        tuple(app_ids),
    )


def claim_head(now: float, lock: str = "") -> Query:
    """The group of the oldest due item."""
    return (
        f"SELECT app_id, base_url, endpoint FROM items WHERE {PENDING} AND due_at <= ? "
        f"ORDER BY id LIMIT 1{lock}",
        (now,),
    )


def claim_group(
    worker: str,
    now: float,
    lease_seconds: float,
    head: Sequence[object],
    limit: int,
    lock: str = "",
) -> Query:
    return (
        "UPDATE items SET status = 'delivering', lease_owner = ?, due_at = ?, "
        "attempts = attempts + 1 WHERE id IN ("
        f"SELECT id FROM items WHERE {PENDING} AND due_at <= ? "
        f"AND app_id = ? AND base_url = ? AND endpoint = ? ORDER BY id LIMIT ?{lock}) "
        f"RETURNING {ITEM_COLUMNS}",
        (worker, now + lease_seconds, now, *head, limit),
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


def mark_dead(ids: Sequence[int], reason: str, heap_status: int | None, heap_body: str) -> Query:
    return (
        "UPDATE items SET status = 'dead', last_error = ?, heap_status = ?, heap_body = ?, "
        f"lease_owner = NULL WHERE {PENDING} AND id IN ({_in(ids)})",
        (reason, heap_status, clipped_heap_body(heap_body), *ids),
    )


def status(message_id: str | None, item_id: int | None) -> Query:
    if not message_id and item_id is None:
        raise ValueError("status needs a message_id or an item_id")
    conditions: list[str] = []
    parameters: list[object] = []
    if message_id:
        conditions.append("message_id = ?")
        parameters.append(message_id)
    if item_id is not None:
        conditions.append("id = ?")
        parameters.append(item_id)
    where = " AND ".join(conditions)
    return f"SELECT {ITEM_COLUMNS} FROM items WHERE {where} ORDER BY id", tuple(parameters)


def dead_letters(
    app_id: str | None, reason_contains: str | None, limit: int, after_id: int | None
) -> Query:
    sql = f"SELECT {ITEM_COLUMNS} FROM items WHERE status = 'dead'"
    parameters: list[object] = []
    if app_id is not None:
        sql += " AND app_id = ?"
        parameters.append(app_id)
    if reason_contains:
        sql += " AND LOWER(last_error) LIKE ? ESCAPE '!'"
        parameters.append(f"%{_like_escaped(reason_contains.lower())}%")
    if after_id is not None:
        sql += " AND id > ?"
        parameters.append(after_id)
    sql += " ORDER BY id LIMIT ?"
    parameters.append(limit)
    return sql, tuple(parameters)


def replay_dead(app_id: str | None, now: float) -> Query:
    sql = (
        "UPDATE items SET status = 'stored', attempts = 0, due_at = ?, lease_owner = NULL "
        "WHERE status = 'dead'"
    )
    return _for_app(sql, (now,), app_id)


def purge_dead(app_id: str | None) -> Query:
    return _for_app("DELETE FROM items WHERE status = 'dead'", (), app_id)


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


def _for_app(sql: str, parameters: tuple[object, ...], app_id: str | None) -> Query:
    if app_id is None:
        return sql, parameters
    return f"{sql} AND app_id = ?", (*parameters, app_id)


def _like_escaped(text: str) -> str:
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
