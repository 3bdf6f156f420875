"""What the status queries cost, counted by the database rather than timed: the work SQLite
does (virtual machine steps, in thousands), the rows of `items` PostgreSQL reads."""

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from typing import Any

import psycopg

from heap_destination.store import queries, status_queries
from heap_destination.store.status_queries import StatusKeys

STEPS_PER_COUNT = 1000


def status_cost(
    store_url: str, message_id: str, app_ids: Sequence[str] | None, limit: int, after: int | None
) -> int:
    """The cost of the queries a store runs for `status(message_id=..., app_ids=...)`."""
    keys = StatusKeys(message_id)
    cost = 0
    apps = sorted(set(app_ids)) if app_ids is not None else None
    if apps is None:
        found, cost = _run(store_url, status_queries.key_apps(keys))
        apps = [str(app_id) for (app_id,) in found]
    each_app = not store_url.startswith("sqlite:")  # as the stores run them
    for query in status_queries.page_queries(keys, apps, limit, after, limit_each_app=each_app):
        cost += _run(store_url, query)[1]
    return cost


def read_every_item_cost(store_url: str, message_id: str) -> int:
    """The cost of reading every item of `message_id`: what a page must not cost."""
    every = f"SELECT {status_queries.ITEM_COLUMNS} FROM items WHERE message_id = ?"
    return _run(store_url, (every, (message_id,)))[1]


def _run(store_url: str, query: queries.Query) -> tuple[list[Any], int]:
    if store_url.startswith("sqlite:"):
        return _sqlite(store_url.removeprefix("sqlite:"), query)
    return _postgres(store_url, query)


def _sqlite(path: str, query: queries.Query) -> tuple[list[Any], int]:
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0  # go on

    with closing(sqlite3.connect(path)) as db:
        db.set_progress_handler(count, STEPS_PER_COUNT)
        rows = db.execute(*query).fetchall()
    return rows, steps


def _postgres(store_url: str, query: queries.Query) -> tuple[list[Any], int]:
    sql, parameters = query
    postgres_sql = queries.postgres_sql(sql)
    with psycopg.connect(store_url) as db:
        rows = db.execute(postgres_sql.encode(), parameters).fetchall()
        explain = f"EXPLAIN (ANALYZE, FORMAT JSON) {postgres_sql}"
        [(plan,)] = db.execute(explain.encode(), parameters).fetchall()
    return rows, _items_read(plan[0]["Plan"])


def _items_read(node: dict[str, Any]) -> int:
    own = 0
    if node.get("Relation Name") == "items":
        read = node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
        own = int(read * node["Actual Loops"])
    return own + sum(_items_read(child) for child in node.get("Plans", []))
