"""What SQLite says about a damaged file: which errors mean damage, and its own check."""

import sqlite3

# SQLite's primary result codes (the low byte of an error's extended code).
_PERM = 3
_READONLY = 8
_IOERR = 10
_CORRUPT = 11
_CANTOPEN = 14
_NOTADB = 26

RECOVERY_DOCS = 'docs/operations.md, "Recovering a damaged store"'


def is_damage(error: BaseException) -> bool:
    """Whether SQLite says the file is malformed or not a database, or that reading or
    writing it failed: what it committed may not all be there."""
    return _primary_code(error) in (_IOERR, _CORRUPT, _NOTADB)


def cannot_write(error: BaseException) -> bool:
    """Whether SQLite could not open the file for writing (a read-only or immutable file,
    a directory it may not write)."""
    return _primary_code(error) in (_PERM, _READONLY, _CANTOPEN)


def integrity_problem(db: sqlite3.Connection) -> str | None:
    """The first thing PRAGMA quick_check finds wrong with the file, or None when it
    passes. It reads every page, so it takes time in proportion to the file's size."""
    try:
        rows = db.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as error:
        if not is_damage(error):
            raise
        return f"integrity check: {error}"
    if rows == [("ok",)]:
        return None
    findings = [
        line
        for (text,) in rows
        for line in str(text).splitlines()
        if line and not line.startswith("***")
    ]
    return f"integrity check: {findings[0] if findings else 'failed'}"


def _primary_code(error: BaseException) -> int | None:
    if not isinstance(error, sqlite3.Error):
        return None
    code = getattr(error, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None
