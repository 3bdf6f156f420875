"""The running count of undelivered items, per app, that SQLite's appends check bounds on.

Counting them on each commit costs time in proportion to the backlog; this count changes
with each change the store's own connection makes. Another connection's commit (another
process on the same file) makes it stale: SQLite's `PRAGMA data_version` tells, and the
count is taken again then.
"""

import sqlite3
from collections import Counter
from collections.abc import Iterable, Mapping

from heap_destination.store import queries


class PendingCounts:
    def __init__(self) -> None:
        self._by_app: Counter[str] | None = None
        """None until counted, and after any change this count does not follow."""
        self._data_version: int | None = None

    def current(self, db: sqlite3.Connection) -> tuple[int, Mapping[str, int]]:
        """The total and the per-app counts, inside a write transaction of `db`: counted
        again when another connection committed since they were last taken."""
        (version,) = db.execute("PRAGMA data_version").fetchone()
        if self._by_app is None or version != self._data_version:
            rows = db.execute(*queries.pending_per_app()).fetchall()
            self._by_app = Counter({str(app_id): int(count) for app_id, count in rows})
            self._data_version = version
        return self._by_app.total(), self._by_app

    def add(self, app_ids: Iterable[str]) -> None:
        """One more undelivered item of each app listed (repeated for more), committed."""
        if self._by_app is not None:
            self._by_app.update(app_ids)

    def remove(self, by_app: Mapping[str, int]) -> None:
        """Items that left the undelivered ones, committed."""
        if self._by_app is not None:
            self._by_app.subtract(by_app)

    def forget(self) -> None:
        """After a change not followed: the next `current` counts again."""
        self._by_app = None
