"""Errors the store raises."""


class StoreFull(Exception):
    """Appending would exceed a bound on undelivered items; nothing was stored."""

    def __init__(self, message: str, app_id: str | None = None) -> None:
        super().__init__(message)
        self.app_id = app_id
