"""A SQLite store's directory must exist: a path with a typo would otherwise make a new,
empty store somewhere unexpected. `--create-dirs` makes it instead."""

from heap_destination.app.options import SettingsError
from heap_destination.store.opening import sqlite_path

CREATE_DIRS_FLAG = "--create-dirs"


def refuse_missing_directory(url: str | None, *, create_dirs: bool) -> None:
    """Raises SettingsError naming the directory of a SQLite store's file that does not
    exist, unless `create_dirs`; other stores and malformed URLs are left to open_store."""
    if url is None or create_dirs or not url.lower().startswith("sqlite:"):
        return
    try:
        directory = sqlite_path(url).parent
    except ValueError:
        return
    if not directory.exists():
        raise SettingsError(
            f"--store {url}: the directory {directory} does not exist; make it, or pass "
            f"{CREATE_DIRS_FLAG} to have it made"
        )
