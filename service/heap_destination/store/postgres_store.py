"""The Store on PostgreSQL: a psycopg 3 connection pool; claims use SKIP LOCKED so
several workers and processes share the queue without waiting on each other.

Every call takes its connection from `_connection`, where psycopg's errors become
StoreUnavailable."""

import time
import uuid
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from heap_destination.store import postgres_ledger, queries, status_queries
from heap_destination.store.bounds import check_bounds
from heap_destination.store.budgets import Budget, Reservation
from heap_destination.store.errors import StoreUnavailable
from heap_destination.store.items import (
    INSERT_COLUMNS,
    AppBacklog,
    AppHold,
    NewItem,
    StoredItem,
    app_backlogs,
    app_holds,
    new_item_row,
    stored_item,
)
from heap_destination.store.migrations import (
    pending_migrations,
    refuse_newer,
    schema_version_table,
)
from heap_destination.store.postgres_cursor import execute, one
from heap_destination.store.status_queries import DEFAULT_LIMIT, StatusKeys

SKIP_LOCKED = " FOR UPDATE SKIP LOCKED"

# Transaction-scoped advisory locks, one per schema, that serialize what must not
# interleave: migrations, appends (so two cannot both pass the bounds check), and the
# reservations of one app (so two cannot both take the same room in its budget).
_LOCK = "SELECT pg_advisory_xact_lock(hashtext(%s || COALESCE(current_schema(), '')))"
_MIGRATE_LOCK = "heap_destination.store.migrate:"
_APPEND_LOCK = "heap_destination.store.append:"
_RESERVE_LOCK = "heap_destination.store.reserve:{app_id}:"

# An append takes its ids first, then sends its rows with COPY: psycopg writes COPY's rows
# in C, where an INSERT's parameters would be built in Python; in binary, the bodies go as
# they are instead of as hex text.
_NEXT_IDS = "SELECT nextval(pg_get_serial_sequence('items', 'id')) FROM generate_series(1, %s)"
_COPY_ITEMS = f"COPY items (id, {INSERT_COLUMNS}) FROM STDIN (FORMAT BINARY)".encode()
_COPY_TYPES = [
    *("int8", "text", "text", "text", "text", "text", "bytea", "text", "text"),
    *("float8", "float8", "text", "text", "int4"),
]
"""id, then INSERT_COLUMNS' types."""
# The counts of undelivered items that the schema keeps (see migrations.py, version 6):
# an append folds the changes committed since the last one into them first.
_FOLD_PENDING_CHANGES = (
    b"WITH folded AS (DELETE FROM pending_changes RETURNING app_id, change) "
    b"INSERT INTO pending_counts AS counts (app_id, pending) "
    b"SELECT app_id, SUM(change) FROM folded GROUP BY app_id "
    b"ON CONFLICT (app_id) DO UPDATE SET pending = counts.pending + excluded.pending"
)
_PENDING_TOTAL = b"SELECT COALESCE(SUM(pending), 0) FROM pending_counts"
_PENDING_OF_APPS = b"SELECT app_id, pending FROM pending_counts WHERE app_id = ANY(%s)"

PING_TIMEOUT_SECONDS = 5.0


class PostgresStore:
    def __init__(
        self,
        pool: AsyncConnectionPool[AsyncConnection[Any]],
        *,
        max_items: int,
        max_items_per_app: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Use `open`, which also opens the pool and migrates."""
        self._pool = pool
        self._max_items = max_items
        self._max_items_per_app = max_items_per_app
        self._clock = clock

    @classmethod
    async def open(
        cls,
        conninfo: str,
        *,
        max_items: int,
        max_items_per_app: int,
        clock: Callable[[], float] = time.time,
        pool_size: int = 10,
        connect_timeout: float = 30.0,
    ) -> "PostgresStore":
        """Opens the pool and migrates; raises StoreUnavailable when the server cannot be
        reached or refuses us, StoreUnusable for a schema newer than this code."""
        try:
            # One connection first, so that a server that cannot be reached or refuses us
            # fails at once with its own error instead of the pool's timeout after retrying.
            first = await AsyncConnection.connect(
                conninfo, connect_timeout=max(1, int(connect_timeout))
            )
            await first.close()
            pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
                conninfo,
                min_size=1,
                max_size=pool_size,
                kwargs={"autocommit": True},
                open=False,
                timeout=connect_timeout,
            )
            await pool.open(wait=True, timeout=connect_timeout)
        except psycopg.Error as error:
            raise StoreUnavailable(error) from error
        store = cls(pool, max_items=max_items, max_items_per_app=max_items_per_app, clock=clock)
        try:
            await store._migrate()
        except BaseException:
            await pool.close()
            raise
        return store

    async def _migrate(self) -> None:
        async with self._connection() as db, db.transaction():
            await db.execute(_LOCK, (_MIGRATE_LOCK,))
            await db.execute(schema_version_table("postgresql").encode())
            cursor = await db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
            (current,) = await one(cursor)
            refuse_newer(current)
            for version, statements in pending_migrations("postgresql", current):
                for statement in statements:
                    await db.execute(statement.encode())
                await db.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (%s, %s)",
                    (version, self._clock()),
                )

    async def append(self, items: Sequence[NewItem]) -> list[int]:
        if not items:
            return []
        async with self._connection() as db, db.transaction(), db.cursor() as cursor:
            await cursor.execute(_LOCK, (_APPEND_LOCK,))
            await cursor.execute(_FOLD_PENDING_CHANGES)
            (pending,) = await one(await cursor.execute(_PENDING_TOTAL))
            app_ids = sorted({item.app_id for item in items})
            await cursor.execute(_PENDING_OF_APPS, (app_ids,))
            by_app = {app_id: int(count) for app_id, count in await cursor.fetchall()}
            check_bounds(items, int(pending), by_app, self._max_items, self._max_items_per_app)
            await cursor.execute(_NEXT_IDS, (len(items),))
            ids = sorted(int(item_id) for (item_id,) in await cursor.fetchall())
            async with cursor.copy(_COPY_ITEMS) as copy:
                copy.set_types(_COPY_TYPES)
                for item_id, item in zip(ids, items, strict=True):
                    await copy.write_row((item_id, *new_item_row(item)))
        return ids

    async def claim(self, worker: str, limit: int, lease_seconds: float) -> list[StoredItem]:
        if limit <= 0:
            return []
        now = self._clock()
        # Binary results: the bodies come as they are, not as hex text to decode.
        async with self._connection() as db, db.transaction(), db.cursor(binary=True) as cursor:
            await execute(cursor, queries.claim_head(now, SKIP_LOCKED))
            head = await cursor.fetchone()
            if head is None:
                return []
            query = queries.claim_group(worker, now, lease_seconds, head, limit, SKIP_LOCKED)
            rows = await (await execute(cursor, query)).fetchall()
        return sorted((stored_item(row) for row in rows), key=lambda item: item.id)

    async def mark_delivered(self, ids: Sequence[int], heap_status: int) -> None:
        now = self._clock()
        await self._update_chunks(
            ids, lambda chunk: queries.mark_delivered(chunk, heap_status, now)
        )

    async def mark_failed(
        self,
        ids: Sequence[int],
        error: str,
        heap_status: int | None,
        heap_body: str,
        retry_at: float,
    ) -> None:
        await self._update_chunks(
            ids, lambda chunk: queries.mark_failed(chunk, error, heap_status, heap_body, retry_at)
        )

    async def renew_leases(self, ids: Sequence[int], worker: str, lease_seconds: float) -> int:
        until = self._clock() + lease_seconds
        return await self._update_chunks(
            ids, lambda chunk: queries.renew_leases(chunk, worker, until)
        )

    async def release(self, ids: Sequence[int], due_at: float) -> None:
        await self._update_chunks(ids, lambda chunk: queries.release(chunk, due_at))

    async def mark_dead(
        self, ids: Sequence[int], reason: str, heap_status: int | None, heap_body: str
    ) -> None:
        await self._update_chunks(
            ids, lambda chunk: queries.mark_dead(chunk, reason, heap_status, heap_body)
        )

    async def purge_identities(self, app_id: str, identities: Sequence[str], reason: str) -> int:
        identity_set = queries.POSTGRES_IDENTITIES
        async with self._connection() as db, db.transaction(), db.cursor() as cursor:
            await execute(cursor, queries.purge_finished(app_id, identities, reason, identity_set))
            query = queries.purge_pending(app_id, identities, reason, identity_set)
            return (await execute(cursor, query)).rowcount

    async def status(
        self,
        message_id: str | None = None,
        item_id: int | None = None,
        *,
        stream_event_id: str | None = None,
        app_ids: Collection[str] | None = None,
        limit: int = DEFAULT_LIMIT,
        after_id: int | None = None,
    ) -> list[StoredItem]:
        keys = StatusKeys(message_id, item_id, stream_event_id)
        apps = None if app_ids is None else sorted(set(app_ids))
        if apps is None and keys.shared_key is not None:
            apps = [str(app_id) for (app_id,) in await self._rows(status_queries.key_apps(keys))]
        found: list[StoredItem] = []
        for query in status_queries.page_queries(keys, apps, limit, after_id, limit_each_app=True):
            found += [stored_item(row) for row in await self._rows(query)]
        return status_queries.page(found, limit)

    async def dead_letters(
        self,
        app_id: str | None,
        reason_contains: str | None,
        limit: int,
        after_id: int | None,
        *,
        message_id: str | None = None,
        item_id: int | None = None,
    ) -> list[StoredItem]:
        query = queries.dead_letters(app_id, reason_contains, limit, after_id, message_id, item_id)
        return [stored_item(row) for row in await self._rows(query)]

    async def replay_dead(
        self,
        app_id: str | None,
        reason_contains: str | None = None,
        *,
        message_id: str | None = None,
        item_id: int | None = None,
    ) -> int:
        return await self._change(
            queries.replay_dead(app_id, reason_contains, self._clock(), message_id, item_id)
        )

    async def purge_dead(
        self,
        app_id: str | None,
        reason_contains: str | None = None,
        *,
        message_id: str | None = None,
        item_id: int | None = None,
    ) -> int:
        return await self._change(queries.purge_dead(app_id, reason_contains, message_id, item_id))

    async def backlog(self) -> list[AppBacklog]:
        now = self._clock()
        rows = await self._rows(queries.backlog(now - 60.0))
        return app_backlogs(rows, await self._rows(queries.holds(now)), now)

    async def hold_app(self, app_id: str, until: float, reason: str) -> None:
        await self._change(queries.hold_app(app_id, until, reason))

    async def pause_app(self, app_id: str, reason: str) -> None:
        await self._change(queries.pause_app(app_id, reason))

    async def resume_apps(self, app_id: str | None) -> list[str]:
        async with self._connection() as db, db.transaction(), db.cursor() as cursor:
            rows = await (await execute(cursor, queries.resume_apps(app_id))).fetchall()
        return sorted(held_app for held_app, paused in rows if paused)

    async def holds(self) -> list[AppHold]:
        return app_holds(await self._rows(queries.holds(self._clock())))

    async def reserve(self, app_id: str, wanted: Mapping[str, int], budget: Budget) -> Reservation:
        if not wanted:
            return Reservation(id=uuid.uuid4().hex, granted={}, retry_at=None)
        async with self._connection() as db, db.transaction(), db.cursor() as cursor:
            await cursor.execute(_LOCK, (_RESERVE_LOCK.format(app_id=app_id),))
            return await postgres_ledger.reserve(cursor, app_id, wanted, budget, self._clock())

    async def settle(self, reservation_id: str) -> None:
        await self._change(queries.settle(reservation_id, self._clock()))

    async def refund(self, reservation_id: str) -> None:
        await self._change(queries.refund(reservation_id))

    async def ping(self) -> None:
        async with self._connection(timeout=PING_TIMEOUT_SECONDS) as db:
            await db.execute(queries.PING.encode())

    async def check(self) -> None:
        # The server keeps its own files sound; reaching it is what can fail here.
        await self.ping()

    async def prune(self, older_than: float) -> int:
        return await self._change(queries.prune(older_than))

    async def close(self) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def _connection(
        self, timeout: float | None = None
    ) -> AsyncIterator[AsyncConnection[Any]]:
        """A connection of the pool, waited for up to `timeout` seconds (the pool's own
        when None); psycopg's errors, here or in what uses it, become StoreUnavailable."""
        try:
            async with self._pool.connection(timeout=timeout) as db:
                yield db
        except psycopg.Error as error:
            raise StoreUnavailable(error) from error

    async def _update_chunks(
        self, ids: Sequence[int], query: Callable[[Sequence[int]], queries.Query]
    ) -> int:
        """Runs `query` on each chunk of `ids` in one transaction; the rows changed."""
        changed = 0
        async with self._connection() as db, db.transaction(), db.cursor() as cursor:
            for chunk in queries.chunks(ids):
                changed += (await execute(cursor, query(chunk))).rowcount
        return changed

    async def _change(self, query: queries.Query) -> int:
        async with self._connection() as db, db.transaction(), db.cursor() as cursor:
            return (await execute(cursor, query)).rowcount

    async def _rows(self, query: queries.Query) -> list[Any]:
        async with self._connection() as db, db.cursor() as cursor:
            return await (await execute(cursor, query)).fetchall()
