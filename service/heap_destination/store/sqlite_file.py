"""The file a SQLite store opens. A missing one is made whole aside and then linked into
place, so no store this code makes is ever seen empty; an empty (0-byte) file is
refused unless asked for, since a store that lost its contents looks just like it."""

import logging
import os
import sqlite3
import uuid
from contextlib import closing
from pathlib import Path

from heap_destination.store.errors import StoreFileEmpty, StoreUnusable
from heap_destination.store.sqlite_damage import RECOVERY_DOCS

log = logging.getLogger(__name__)


def prepare_file(path: Path, *, create_empty: bool) -> None:
    """Makes the store's directory and, when there is no file, a new store file.

    Raises StoreFileEmpty for a 0-byte file unless `create_empty`, and StoreUnusable
    when the directory cannot be made.
    """
    _make_directory(path.parent)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        _create(path)
        return
    except OSError as error:
        raise StoreUnusable(f"cannot look at the file: {error.strerror}") from None
    if size > 0:
        return
    if not create_empty:
        raise StoreFileEmpty(
            f"the file is empty (0 bytes), not a store; if it held one, recover it from a "
            f"copy ({RECOVERY_DOCS})"
        )
    log.warning("the store's file %s was empty (0 bytes): making a new, empty store in it", path)


def _make_directory(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        in_the_way = next(
            (p for p in (directory, *directory.parents) if p.exists() and not p.is_dir()), None
        )
        if in_the_way is not None:
            raise StoreUnusable(
                f"{in_the_way} is a file, not a directory, so the store's directory "
                f"{directory} cannot be made"
            ) from None
        raise StoreUnusable(f"cannot make the directory {directory}: {error.strerror}") from None


def _create(path: Path) -> None:
    try:
        _create_aside_and_link(path)
    except OSError as error:
        raise StoreUnusable(f"cannot make the file: {error.strerror}") from None


def _create_aside_and_link(path: Path) -> None:
    aside = path.with_name(f".{path.name}.{uuid.uuid4().hex}.new")
    try:
        with closing(sqlite3.connect(aside)) as db:
            db.execute("PRAGMA journal_mode = WAL")
        try:
            os.link(aside, path)
        except FileExistsError:
            return  # another process made it first: theirs is the store
        except OSError:  # a file system without hard links
            if path.exists():
                return
            os.replace(aside, path)
        log.info("made a new, empty store at %s", path)
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{aside}{suffix}").unlink(missing_ok=True)
