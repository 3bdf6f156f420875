"""open_store: URLs, migrations, and reopening, on both engines."""

import asyncio
import sqlite3
from pathlib import Path

import psycopg
import pytest

from heap_destination.store import (
    StoreFull,
    StoreUnavailable,
    StoreUnusable,
    open_store,
    queries,
)
from heap_destination.store.items import new_item_row
from heap_destination.store.migrations import (
    LATEST_VERSION,
    Engine,
    pending_migrations,
    schema_version_table,
)
from tests.store.conftest import OpenStore
from tests.store.helpers import APP, OTHER_APP, new_item


def _schema(store_url: str) -> tuple[list[int], list[str]]:
    """The versions recorded in schema_version, and the tables there are."""
    if store_url.startswith("sqlite:"):
        with sqlite3.connect(store_url.removeprefix("sqlite:")) as db:
            versions = db.execute("SELECT version FROM schema_version ORDER BY version")
            tables = db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' "
                "ORDER BY name"
            )
            return [row[0] for row in versions], [row[0] for row in tables]
    with psycopg.connect(store_url) as pg:
        pg_versions = pg.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
        pg_tables = pg.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() ORDER BY table_name"
        ).fetchall()
        return [row[0] for row in pg_versions], [row[0] for row in pg_tables]


async def test_opening_migrates_once_and_records_the_version(
    open_test_store: OpenStore, store_url: str
) -> None:
    first = await open_test_store()
    [item_id] = await first.append([new_item()])

    second = await open_test_store()
    await first.close()
    third = await open_test_store()

    # PostgreSQL keeps the count of undelivered items per app in tables (version 6).
    counts = [] if store_url.startswith("sqlite:") else ["pending_changes", "pending_counts"]
    assert _schema(store_url) == (
        list(range(1, LATEST_VERSION + 1)),
        ["app_holds", "budget_ledger", "items", *counts, "schema_version"],
    )
    assert [item.id for item in await second.status(item_id=item_id)] == [item_id]
    assert [item.id for item in await third.claim("worker-a", 10, 30.0)] == [item_id]


_VERSION_1_COLUMNS = 10
"""INSERT_COLUMNS up to due_at: the ones every version of the schema has."""


def _create_version(store_url: str, version: int, *extra: str) -> None:
    """A store as `version` left it, holding one item, then `extra` statements run."""
    engine: Engine = "sqlite" if store_url.startswith("sqlite:") else "postgresql"
    migrations = pending_migrations(engine, 0)[:version]
    assert [number for number, _ in migrations] == list(range(1, version + 1))
    statements = [
        *(statement for _, statements in migrations for statement in statements),
        schema_version_table(engine),
        *(
            f"INSERT INTO schema_version (version, applied_at) VALUES ({n}, 0)"
            for n, _ in migrations
        ),
    ]
    # The columns every version has (version 5 added replayable), as stored items have them.
    row = new_item_row(new_item(stream_event_id="stream-1"))[:_VERSION_1_COLUMNS]
    insert = queries.INSERT_ITEM.replace(", status, last_error, replayable", "").replace(
        ", ?, ?, ?)", ")"
    )
    if engine == "sqlite":
        path = Path(store_url.removeprefix("sqlite:"))
        path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(path) as db:
            for statement in statements:
                db.execute(statement)
            db.execute(insert, row)
            for statement in extra:
                db.execute(statement)
        return
    with psycopg.connect(store_url) as pg:
        for statement in statements:
            pg.execute(statement.encode())
        pg.execute(queries.postgres_sql(insert).encode(), row)
        for statement in extra:
            pg.execute(statement.encode())


async def test_a_version_1_store_is_migrated_keeping_its_items(
    open_test_store: OpenStore, store_url: str
) -> None:
    _create_version(store_url, 1)

    store = await open_test_store()

    assert _schema(store_url)[0] == list(range(1, LATEST_VERSION + 1))
    [item] = await store.status(stream_event_id="stream-1")
    assert [claimed.id for claimed in await store.claim("worker-a", 10, 30.0)] == [item.id]
    assert await store.holds() == []


async def test_a_version_2_store_takes_account_updates_keeping_its_items_and_ids(
    open_test_store: OpenStore, store_url: str
) -> None:
    # A second item, pruned before the upgrade: its id must not be given again.
    _create_version(
        store_url,
        2,
        "INSERT INTO items (app_id, base_url, endpoint, identity, body, accepted_at, due_at) "
        "SELECT app_id, base_url, endpoint, identity, body, accepted_at, due_at FROM items",
        "DELETE FROM items WHERE stream_event_id = ''",
    )

    store = await open_test_store()

    assert _schema(store_url)[0] == list(range(1, LATEST_VERSION + 1))
    [kept] = await store.status(stream_event_id="stream-1")
    [account_id] = await store.append([new_item(endpoint="account_properties", identity="")])
    assert account_id > kept.id + 1
    # A claim takes one endpoint's items.
    claimed = [*await store.claim("worker-a", 10, 30.0), *await store.claim("worker-a", 10, 30.0)]
    assert {(item.id, item.endpoint) for item in claimed} == {
        (kept.id, "track"),
        (account_id, "account_properties"),
    }


async def test_a_version_3_store_gains_the_replay_time_and_pages_its_ids_per_app(
    open_test_store: OpenStore, store_url: str
) -> None:
    _create_version(store_url, 3, "UPDATE items SET status = 'dead', last_error = 'gave up'")

    store = await open_test_store()

    assert _schema(store_url)[0] == list(range(1, LATEST_VERSION + 1))
    [dead] = await store.status(stream_event_id="stream-1", app_ids=[APP])
    assert (dead.status, dead.replayed_at) == ("dead", None)
    assert await store.status(stream_event_id="stream-1", app_ids=[OTHER_APP]) == []
    assert await store.replay_dead(None, item_id=dead.id) == 1
    [replayed] = await store.status(stream_event_id="stream-1")
    assert replayed.replayed_at is not None and replayed.retry_age_from > dead.accepted_at


async def test_a_version_5_store_counts_the_undelivered_items_it_holds(
    open_test_store: OpenStore, store_url: str
) -> None:
    # Two undelivered items of APP (one delivering), and a delivered one.
    _create_version(
        store_url,
        5,
        "INSERT INTO items (app_id, base_url, endpoint, identity, body, accepted_at, due_at, "
        "status) SELECT app_id, base_url, endpoint, identity, body, accepted_at, due_at, s "
        "FROM items, (SELECT 'delivering' AS s UNION ALL SELECT 'delivered') AS statuses",
    )

    store = await open_test_store(max_items=100, max_items_per_app=3)

    assert _schema(store_url)[0] == list(range(1, LATEST_VERSION + 1))
    with pytest.raises(StoreFull, match=f"app {APP} has 2 undelivered items"):
        await store.append([new_item("a2"), new_item("a3")])
    assert len(await store.append([new_item("a2")])) == 1


async def test_a_schema_newer_than_the_code_is_refused_and_left_as_it_is(
    open_test_store: OpenStore, store_url: str
) -> None:
    newer = LATEST_VERSION + 1
    _create_version(
        store_url,
        LATEST_VERSION,
        f"INSERT INTO schema_version (version, applied_at) VALUES ({newer}, 0)",
    )
    before = _schema(store_url)

    with pytest.raises(StoreUnusable) as refused:
        await open_test_store()

    assert str(refused.value).startswith("store ")
    assert (
        f"its schema is at version {newer}, newer than this heap-destination knows "
        f"(version {LATEST_VERSION})"
    ) in str(refused.value)
    assert _schema(store_url) == before


async def test_an_unknown_endpoint_is_refused_by_the_schema(
    open_test_store: OpenStore,
) -> None:
    store = await open_test_store()

    with pytest.raises(StoreUnavailable) as raised:
        await store.append([new_item(endpoint="fax")])

    assert isinstance(raised.value.__cause__, (sqlite3.IntegrityError, psycopg.IntegrityError))


async def test_ids_are_not_reused_after_pruning(
    open_test_store: OpenStore,
) -> None:
    store = await open_test_store()
    [first] = await store.append([new_item(accepted_at=0.0)])
    await store.claim("worker-a", 10, 30.0)
    await store.mark_delivered([first], 200)
    assert await store.prune(1.0) == 1

    [second] = await store.append([new_item()])

    assert second > first


async def test_sqlite_creates_the_files_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "items.db"
    store = await open_store(f"sqlite:{path}")
    try:
        assert path.exists()
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("", "names no scheme"),
        ("/var/lib/items.db", "names no scheme"),
        ("c:/data/items.db", "unknown scheme 'c'"),
        ("mysql://root@localhost/db", "unknown scheme 'mysql'"),
        ("sqlite:", "names no file"),
        ("sqlite:   ", "names no file"),
        ("sqlite::memory:", "must name a file"),
        ("sqlite://host/items.db", "a host cannot be named"),
        ("postgresql:test", "use postgresql://"),
        ("postgresql://postgres@127.0.0.1/test?sslmode=sometimes", "sslmode 'sometimes'"),
        ("postgresql://postgres@127.0.0.1:99999/test", "port '99999'"),
        ("postgresql://postgres@[::1/test", "IPv6"),
        ("postgresql://postgres@127.0.0.1/test?bogus_option=1", "bogus_option"),
    ],
)
async def test_a_bad_url_raises_value_error_naming_the_problem(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        await open_store(url)


async def test_a_password_is_not_shown_in_errors() -> None:
    with pytest.raises(ValueError) as raised:
        await open_store("postgresql://user:s3cret@127.0.0.1/test?bogus_option=1")

    assert "s3cret" not in str(raised.value)


async def test_an_unreachable_server_fails_at_once() -> None:
    with pytest.raises(StoreUnavailable) as raised:
        await asyncio.wait_for(open_store("postgresql://postgres@127.0.0.1:1/test"), 10)

    assert isinstance(raised.value.__cause__, psycopg.OperationalError)


async def test_bounds_below_one_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        await open_store(f"sqlite:{tmp_path / 'items.db'}", max_items=0)
