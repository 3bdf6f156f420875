"""Errors the store raises: the database drivers' own errors never leave the store."""


class StoreFull(Exception):
    """Appending would exceed a bound on undelivered items; nothing was stored."""

    def __init__(self, message: str, app_id: str | None = None) -> None:
        super().__init__(message)
        self.app_id = app_id


class StoreUnavailable(Exception):
    """The database failed a call: it could not be reached, or its driver raised an error
    (the cause). An append stored nothing."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.driver_error = type(cause).__name__
        """The driver's name for what failed (OperationalError, say)."""


class StoreDamaged(Exception):
    """SQLite found the store's file damaged (malformed, not a database) or could not read
    or write it (an I/O error). Nothing is committed from then on until the file passes
    an integrity check: an OK must never rest on a file that may lose what it took."""


class StoreUnusable(Exception):
    """Opening is refused and nothing was changed: the store is damaged, is an empty file,
    has a schema newer than this code knows, cannot be written, or is on PostgreSQL while
    psycopg is not installed. The message names the store and what to do."""


class StoreFileEmpty(StoreUnusable):
    """The SQLite file exists but holds nothing (0 bytes): a store that lost its contents
    looks exactly like this, so a new store is made in it only when asked to."""
