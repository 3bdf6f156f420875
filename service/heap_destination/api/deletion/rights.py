"""Who may delete users: callers whose token has "may_delete_users", within its app_ids."""

from dataclasses import dataclass

from heap_destination.api.caller import CURRENT_CALLER, Caller, ensure_caller_may_use


@dataclass(frozen=True)
class UserDeleter(Caller):
    """A caller whose token may also delete users ("may_delete_users" in the tokens file)."""


class DeletionNotAllowed(Exception):
    """The caller's token may send events but not delete users."""

    def __init__(self) -> None:
        super().__init__(
            "this caller's token may not delete users: its entry in the tokens file needs "
            '"may_delete_users": true'
        )


def ensure_caller_may_delete_users(app_id: str) -> None:
    """Raises DeletionNotAllowed, or PermissionDenied when the token excludes `app_id`.

    With no caller set (the service runs without tokens) everything is allowed.
    """
    caller = CURRENT_CALLER.get()
    if caller is None:
        return
    if not isinstance(caller, UserDeleter):
        raise DeletionNotAllowed()
    ensure_caller_may_use(app_id)
