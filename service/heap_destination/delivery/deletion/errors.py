"""Why a user deletion, or a look at its status, did not go through."""

from collections.abc import Sequence


class DeletionError(Exception):
    """Heap did not take a deletion request, or did not answer a status request."""


class HeapApiKeyMissing(DeletionError):
    """The server has no Heap API key, so it cannot call Heap's user deletion API."""

    def __init__(self) -> None:
        super().__init__(
            "this server has no Heap API key for user deletion: set --heap-api-key-file "
            "(env HEAP_API_KEY_FILE) or HEAP_API_KEY"
        )


class HeapApiKeyRefused(DeletionError):
    """Heap's auth_token endpoint refused the app_id and API key (401 or 403)."""

    def __init__(self, app_id: str, status: int) -> None:
        super().__init__(
            f"Heap refused the server's API key for app_id {app_id} (HTTP {status}): the key "
            "is wrong or revoked, or the app_id is not the account's Main Production app; "
            "check --heap-api-key-file / HEAP_API_KEY"
        )
        self.app_id = app_id
        self.status = status


class DeletionRejected(DeletionError):
    """Heap answered a deletion or status request with a 4xx other than 429."""

    def __init__(self, status: int, body: str, submitted: Sequence[str] = ()) -> None:
        super().__init__(f"Heap answered {status}: {body}" if body else f"Heap answered {status}")
        self.status = status
        self.submitted = tuple(submitted)
        """Deletion request ids Heap had taken before, in the same call."""


class DeletionUnavailable(DeletionError):
    """Heap could not be reached, answered 429 or 5xx, or answered in a form the service
    does not understand; calling again is safe."""

    def __init__(
        self, message: str, retry_after: float | None = None, submitted: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.submitted = tuple(submitted)
        """Deletion request ids Heap had taken before, in the same call."""
