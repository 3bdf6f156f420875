"""The Store on one SQLite file, shareable by several processes (WAL, busy timeout).

Every call runs on one dedicated thread that owns the connection, so calls are
serialized and the event loop never waits on the disk; appends (the commits callers wait
for) go before claims and delivery's bookkeeping waiting at the same time.

A file found damaged, by any call, takes no commit until it passes SQLite's integrity
check again (see `check`): commits that touch only sound pages would still succeed, and
their OKs would rest on a file that delivery can no longer read.
"""

import functools
import logging
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from heap_destination.store import queries, sqlite_ledger, status_queries
from heap_destination.store.bounds import check_bounds
from heap_destination.store.budgets import Budget, Reservation
from heap_destination.store.errors import StoreDamaged, StoreUnavailable, StoreUnusable
from heap_destination.store.items import (
    AppBacklog,
    AppHold,
    NewItem,
    StoredItem,
    app_backlogs,
    app_holds,
    new_item_row,
    stored_item,
    stored_items_from_json,
)
from heap_destination.store.migrations import (
    pending_migrations,
    refuse_newer,
    schema_version_table,
)
from heap_destination.store.pending_counts import PendingCounts
from heap_destination.store.sqlite_damage import (
    RECOVERY_DOCS,
    cannot_write,
    integrity_problem,
    is_damage,
)
from heap_destination.store.sqlite_file import prepare_file
from heap_destination.store.status_queries import DEFAULT_LIMIT, StatusKeys
from heap_destination.store.store_thread import FIRST, StoreThread

T = TypeVar("T")

log = logging.getLogger(__name__)

BUSY_TIMEOUT_SECONDS = 30.0
# SQLite opens a file it may not write read-only without a word; a write that changes
# nothing fails at once then, instead of at the first real write.
_WRITE_PROBE = "UPDATE schema_version SET version = version WHERE 0"
# While damaged, the next check waits nine times as long as the last one took: checking
# a large file takes seconds, and should take at most a tenth of the store's thread.
_RECHECK_SPACING = 9.0


class SqliteStore:
    def __init__(
        self,
        path: Path,
        *,
        max_items: int,
        max_items_per_app: int,
        clock: Callable[[], float] = time.time,
        create_empty: bool = False,
    ) -> None:
        """Use `open`, which also connects and migrates."""
        self.path = path
        self._max_items = max_items
        self._max_items_per_app = max_items_per_app
        self._clock = clock
        self._create_empty = create_empty
        self._thread = StoreThread("sqlite-store")
        self._connection: sqlite3.Connection | None = None
        self._closed = False
        self._damage: str | None = None
        """What SQLite said when it found the file damaged; None while it is sound."""
        self._next_integrity_check = 0.0
        self._pending = PendingCounts()

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        max_items: int,
        max_items_per_app: int,
        clock: Callable[[], float] = time.time,
        create_empty: bool = False,
    ) -> "SqliteStore":
        """Opens the file (made when missing), checks its integrity and migrates it.

        Raises StoreUnusable, changing nothing, for a file that is damaged, empty (unless
        `create_empty`), newer than this code or not writable; StoreUnavailable for any
        other error of SQLite.
        """
        store = cls(
            path,
            max_items=max_items,
            max_items_per_app=max_items_per_app,
            clock=clock,
            create_empty=create_empty,
        )
        try:
            # Not through _run: a file damaged at open is refused, not noted as damaged.
            await store._thread.call(store._connect)
        except BaseException as error:
            await store.close()
            refusal = _refusal(error)
            if refusal is not None:
                raise refusal from None
            if isinstance(error, sqlite3.Error):
                raise StoreUnavailable(error) from error
            raise
        return store

    async def append(self, items: Sequence[NewItem]) -> list[int]:
        call = functools.partial(self._noting_damage, self._append, list(items))
        return await self._thread.call(call, FIRST)

    async def claim(self, worker: str, limit: int, lease_seconds: float) -> list[StoredItem]:
        return await self._run(self._claim, worker, limit, lease_seconds)

    async def mark_delivered(self, ids: Sequence[int], heap_status: int) -> None:
        now = self._clock()
        await self._run(
            self._update_chunks,
            ids,
            lambda chunk: queries.mark_delivered(chunk, heap_status, now),
            True,
        )

    async def mark_failed(
        self,
        ids: Sequence[int],
        error: str,
        heap_status: int | None,
        heap_body: str,
        retry_at: float,
    ) -> None:
        await self._run(
            self._update_chunks,
            ids,
            lambda chunk: queries.mark_failed(chunk, error, heap_status, heap_body, retry_at),
        )

    async def renew_leases(self, ids: Sequence[int], worker: str, lease_seconds: float) -> int:
        until = self._clock() + lease_seconds
        return await self._run(
            self._update_chunks, ids, lambda chunk: queries.renew_leases(chunk, worker, until)
        )

    async def release(self, ids: Sequence[int], due_at: float) -> None:
        await self._run(self._update_chunks, ids, lambda chunk: queries.release(chunk, due_at))

    async def mark_dead(
        self, ids: Sequence[int], reason: str, heap_status: int | None, heap_body: str
    ) -> None:
        await self._run(
            self._update_chunks,
            ids,
            lambda chunk: queries.mark_dead(chunk, reason, heap_status, heap_body),
            True,
        )

    async def purge_identities(self, app_id: str, identities: Sequence[str], reason: str) -> int:
        return await self._run(self._purge_identities, app_id, list(identities), reason)

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
        return await self._run(self._status, keys, apps, limit, after_id)

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
        return await self._run(self._items, query)

    async def replay_dead(
        self,
        app_id: str | None,
        reason_contains: str | None = None,
        *,
        message_id: str | None = None,
        item_id: int | None = None,
    ) -> int:
        query = queries.replay_dead(app_id, reason_contains, self._clock(), message_id, item_id)
        return await self._run(self._change, query, True)

    async def purge_dead(
        self,
        app_id: str | None,
        reason_contains: str | None = None,
        *,
        message_id: str | None = None,
        item_id: int | None = None,
    ) -> int:
        query = queries.purge_dead(app_id, reason_contains, message_id, item_id)
        return await self._run(self._change, query)

    async def backlog(self) -> list[AppBacklog]:
        now = self._clock()
        rows = await self._run(self._rows, queries.backlog(now - 60.0))
        hold_rows = await self._run(self._rows, queries.holds(now))
        return app_backlogs(rows, hold_rows, now)

    async def hold_app(self, app_id: str, until: float, reason: str) -> None:
        await self._run(self._change, queries.hold_app(app_id, until, reason))

    async def pause_app(self, app_id: str, reason: str) -> None:
        await self._run(self._change, queries.pause_app(app_id, reason))

    async def resume_apps(self, app_id: str | None) -> list[str]:
        return await self._run(self._resume_apps, app_id)

    async def holds(self) -> list[AppHold]:
        return app_holds(await self._run(self._rows, queries.holds(self._clock())))

    async def reserve(self, app_id: str, wanted: Mapping[str, int], budget: Budget) -> Reservation:
        if not wanted:
            return Reservation(id=uuid.uuid4().hex, granted={}, retry_at=None)
        return await self._run(self._reserve, app_id, wanted, budget)

    async def settle(self, reservation_id: str) -> None:
        await self._run(self._change, queries.settle(reservation_id, self._clock()))

    async def refund(self, reservation_id: str) -> None:
        await self._run(self._change, queries.refund(reservation_id))

    async def ping(self) -> None:
        await self._run(self._rows, (queries.PING, ()))

    async def check(self) -> None:
        await self._run(self._check)

    async def prune(self, older_than: float) -> int:
        return await self._run(self._change, queries.prune(older_than))

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._run(self._disconnect)
        self._thread.stop()

    # Everything below runs on the store's thread.

    async def _run(self, function: Callable[..., T], *args: object) -> T:
        return await self._thread.call(functools.partial(self._noting_damage, function, *args))

    def _noting_damage(self, function: Callable[..., T], *args: object) -> T:
        """Calls `function`; SQLite's errors become StoreDamaged (noted) or StoreUnavailable."""
        try:
            return function(*args)
        except sqlite3.Error as error:
            if not is_damage(error):
                raise StoreUnavailable(error) from error
            if self._damage is None:
                self._damage = str(error)
                self._next_integrity_check = 0.0
                log.error(
                    "the store %s is damaged (%s): it takes no events until it passes an "
                    "integrity check; see %s",
                    self.path,
                    error,
                    RECOVERY_DOCS,
                )
            raise StoreDamaged(str(error)) from error

    @property
    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            raise RuntimeError("the store is closed")
        return self._connection

    def _connect(self) -> None:
        prepare_file(self.path, create_empty=self._create_empty)
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        self._connection = connection
        connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        connection.execute("PRAGMA journal_mode = WAL")
        # An OK in ack mode STORED promises the commit: FULL makes WAL commits reach the disk
        # before they return, so they survive the machine, not only the process.
        connection.execute("PRAGMA synchronous = FULL")
        self._check_integrity()
        self._migrate()

    def _check_integrity(self) -> None:
        started = time.monotonic()
        problem = integrity_problem(self._db)
        if problem is not None:
            raise StoreDamaged(problem)
        took = time.monotonic() - started
        if took >= 1.0:
            log.info("the store %s passed its integrity check in %.1f s", self.path, took)

    def _check(self) -> None:
        if self._damage is None:
            self._db.execute(queries.PING).fetchall()
            return
        if time.monotonic() < self._next_integrity_check:
            raise StoreDamaged(self._damage)
        started = time.monotonic()
        # From the disk, not from pages cached when they read as damaged.
        self._db.execute("PRAGMA shrink_memory")
        problem = integrity_problem(self._db)
        took = time.monotonic() - started
        self._next_integrity_check = time.monotonic() + _RECHECK_SPACING * took
        if problem is not None:
            raise StoreDamaged(problem)
        self._damage = None
        log.info("the store %s passes its integrity check again: taking events", self.path)

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _migrate(self) -> None:
        with self._write() as db:
            db.execute(schema_version_table("sqlite"))
            db.execute(_WRITE_PROBE)
            (current,) = db.execute(
                "SELECT COALESCE(MAX(version), 0) FROM schema_version"
            ).fetchone()
            refuse_newer(current)
            for version, statements in pending_migrations("sqlite", current):
                for statement in statements:
                    db.execute(statement)
                db.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                    (version, self._clock()),
                )

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding SQLite's write lock from its start; StoreDamaged
        at once while the file is damaged."""
        if self._damage is not None:
            raise StoreDamaged(
                f"the store is damaged ({self._damage}): nothing is committed until it "
                "passes an integrity check"
            )
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            # SQLite rolls back by itself after some errors (an I/O error, a full disk).
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _append(self, items: list[NewItem]) -> list[int]:
        if not items:
            return []
        with self._write() as db:
            pending, by_app = self._pending.current(db)
            check_bounds(items, pending, by_app, self._max_items, self._max_items_per_app)
            for chunk in queries.chunks(items):
                db.execute(*queries.insert_items([new_item_row(item) for item in chunk]))
            (last,) = db.execute("SELECT last_insert_rowid()").fetchone()
        self._pending.add(item.app_id for item in items if item.dead is None)
        # The transaction holds SQLite's write lock, so AUTOINCREMENT gave the rows
        # consecutive ids ending at the last one.
        return list(range(last - len(items) + 1, last + 1))

    def _claim(self, worker: str, limit: int, lease_seconds: float) -> list[StoredItem]:
        if limit <= 0:
            return []
        now = self._clock()
        with self._write() as db:
            head = db.execute(*queries.claim_head(now)).fetchone()
            if head is None:
                return []
            (ids,) = db.execute(*queries.sqlite_claimable_ids(now, head, limit)).fetchone()
            db.execute(*queries.sqlite_lease(worker, now + lease_seconds, ids))
            (claimed,) = db.execute(*queries.sqlite_items_json(ids)).fetchone()
        return sorted(stored_items_from_json(claimed), key=lambda item: item.id)

    def _resume_apps(self, app_id: str | None) -> list[str]:
        with self._write() as db:
            rows = db.execute(*queries.resume_apps(app_id)).fetchall()
        return sorted(held_app for held_app, paused in rows if paused)

    def _reserve(self, app_id: str, wanted: Mapping[str, int], budget: Budget) -> Reservation:
        with self._write() as db:
            return sqlite_ledger.reserve(db, app_id, wanted, budget, self._clock())

    def _purge_identities(self, app_id: str, identities: list[str], reason: str) -> int:
        identity_set = queries.SQLITE_IDENTITIES
        self._pending.forget()
        with self._write() as db:
            db.execute(*queries.purge_finished(app_id, identities, reason, identity_set))
            query = queries.purge_pending(app_id, identities, reason, identity_set)
            return db.execute(*query).rowcount

    def _status(
        self, keys: StatusKeys, app_ids: list[str] | None, limit: int, after_id: int | None
    ) -> list[StoredItem]:
        if app_ids is None and keys.shared_key is not None:
            app_ids = [str(app_id) for (app_id,) in self._rows(status_queries.key_apps(keys))]
        found = [
            item
            for query in status_queries.page_queries(
                keys, app_ids, limit, after_id, limit_each_app=False
            )
            for item in self._items(query)
        ]
        return status_queries.page(found, limit)

    def _update_chunks(
        self,
        ids: Sequence[int],
        query: Callable[[Sequence[int]], queries.Query],
        ends_pending: bool = False,
    ) -> int:
        """Runs `query` on each chunk of `ids` in one transaction; the rows changed.
        `ends_pending`: the query makes undelivered items delivered or dead."""
        changed = 0
        ended: Counter[str] = Counter()
        with self._write() as db:
            for chunk in queries.chunks(ids):
                if ends_pending:
                    ended.update(dict(db.execute(*queries.pending_among(chunk)).fetchall()))
                changed += db.execute(*query(chunk)).rowcount
        self._pending.remove(ended)
        return changed

    def _change(self, query: queries.Query, changes_pending: bool = False) -> int:
        """`changes_pending`: the query may make items undelivered, or end them."""
        if changes_pending:
            self._pending.forget()
        with self._write() as db:
            return db.execute(*query).rowcount

    def _rows(self, query: queries.Query) -> list[tuple[object, ...]]:
        return self._db.execute(*query).fetchall()

    def _items(self, query: queries.Query) -> list[StoredItem]:
        return [stored_item(row) for row in self._rows(query)]


def _refusal(error: BaseException) -> StoreUnusable | None:
    """What opening answers for an error that says the file cannot be used as it is."""
    if isinstance(error, StoreUnusable):
        return error
    if isinstance(error, StoreDamaged) or is_damage(error):
        return StoreUnusable(
            f"the file is damaged ({error}): it is not used as it is; recover what it holds "
            f"into a new file and start on that ({RECOVERY_DOCS})"
        )
    if cannot_write(error):
        return StoreUnusable(
            f"cannot write the file ({error}): the service needs to write it and to make "
            "its -wal and -shm files beside it"
        )
    return None
