"""A SQLite store damaged as a faulty disk or a stray write would damage it, and what
recovery reads back from it, without the sqlite3 shell (see docs/operations.md,
"Recovering a damaged store", for the shell's way)."""

import asyncio
import os
import random
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from heap_destination.store import open_store


@dataclass(frozen=True)
class Damage:
    path: Path
    offset: int
    original: bytes

    def repair(self) -> None:
        """Puts the page's own bytes back, as a disk that misread them once would."""
        _write(self.path, self.offset, self.original)


def damage_items(path: Path, noise_from: int = 7) -> Damage:
    """Overwrites a page of items in the middle of the file with random bytes, while the
    store may be running. Everything committed is first moved from the WAL into the file,
    so that the damaged page is the one SQLite reads next."""
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        (page_size,) = db.execute("PRAGMA page_size").fetchone()
        try:
            pages = [
                page
                for (page,) in db.execute(
                    "SELECT pageno FROM dbstat WHERE name = 'items' AND pagetype = 'leaf' "
                    "ORDER BY pageno"
                )
            ]
        except sqlite3.OperationalError as error:
            pytest.skip(f"this SQLite cannot say where the items are (no dbstat: {error})")
    assert len(pages) >= 3, "too few items for a page in the middle"
    offset = (pages[len(pages) // 2] - 1) * page_size
    noise = bytearray(random.Random(noise_from).randbytes(page_size))
    # A first byte that names no kind of page: random bytes that happen to name one would
    # leave it to chance whether SQLite sees the damage when it reads the page.
    noise[0] = 0xFF
    with open(path, "rb") as file:
        file.seek(offset)
        original = file.read(page_size)
    _write(path, offset, bytes(noise))
    return Damage(path, offset, original)


def recover_intact_rows(damaged: Path, into: Path) -> set[str]:
    """Makes a new store at `into` holding every item of `damaged` that can still be read;
    their message ids. Reads by id ranges, halving a range that fails, down to single
    items, so only the items on damaged pages are lost."""
    asyncio.run(_new_store(into))
    with closing(sqlite3.connect(damaged)) as source:
        (last,) = source.execute("SELECT seq FROM sqlite_sequence WHERE name = 'items'").fetchone()
        rows = _readable(source, 1, int(last))
    with closing(sqlite3.connect(into)) as target, target:
        marks = ", ".join("?" * len(rows[0])) if rows else ""
        target.executemany(f"INSERT INTO items VALUES ({marks})", rows)
        target.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'items'", (last,))
    columns = _columns(into)
    return {str(row[columns.index("message_id")]) for row in rows}


def _readable(db: sqlite3.Connection, low: int, high: int) -> list[Any]:
    try:
        return db.execute("SELECT * FROM items WHERE id BETWEEN ? AND ?", (low, high)).fetchall()
    except sqlite3.DatabaseError:
        if low == high:
            return []
        middle = (low + high) // 2
        return _readable(db, low, middle) + _readable(db, middle + 1, high)


def _columns(path: Path) -> list[str]:
    with closing(sqlite3.connect(path)) as db:
        return [str(row[1]) for row in db.execute("PRAGMA table_info(items)")]


async def _new_store(path: Path) -> None:
    store = await open_store(f"sqlite:{path}")
    await store.close()


def _write(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as file:
        file.seek(offset)
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


@contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """The file cannot be written for the block: read-only, or immutable for root (whom
    file modes do not stop). Skips the test where neither can be had."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(0o644)
        return
    if not _chattr("+i", path):
        pytest.skip("running as root, and chattr +i does not work here: no file is unwritable")
    try:
        yield
    finally:
        _chattr("-i", path)


def _chattr(change: str, path: Path) -> bool:
    try:
        return subprocess.run(["chattr", change, str(path)], capture_output=True).returncode == 0
    except FileNotFoundError:
        return False
