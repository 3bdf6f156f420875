"""Who is calling, as the authentication interceptor established it for the current call."""

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Caller:
    """A caller that presented a valid token."""

    name: str
    app_ids: frozenset[str] | None
    """The app_ids this caller may send to; None means any."""
    write_key_app_id: str | None = None
    """The app its token sends to when used as a Segment write key; None: its only app_id,
    else the server's default app_id (see api/segment/write_keys.py)."""

    def may_use(self, app_id: str) -> bool:
        return self.app_ids is None or app_id in self.app_ids


class Unauthenticated(Exception):
    """No bearer token, or one the service does not know."""


class PermissionDenied(Exception):
    """The caller's token does not cover the app_id the request goes to."""

    def __init__(self, app_id: str) -> None:
        super().__init__(f"this caller's token does not allow app_id {app_id}")
        self.app_id = app_id


class AllAppsDenied(Exception):
    """The call covers every app_id (all_apps), and the caller's token does not."""

    def __init__(self) -> None:
        super().__init__("all_apps needs a token that covers every app_id")


CURRENT_CALLER: ContextVar[Caller | None] = ContextVar("heap_destination_caller", default=None)


def ensure_caller_may_use(app_id: str) -> None:
    """Raises PermissionDenied when the current caller's token excludes `app_id`.

    With no caller set (the service runs without tokens) everything is allowed.
    """
    caller = CURRENT_CALLER.get()
    if caller is not None and not caller.may_use(app_id):
        raise PermissionDenied(app_id)


def fairness_key(call: object) -> str:
    """Whose turn a call's requests to Heap wait in: its token's caller, or, without
    tokens, the call itself (`call` is its context). Not the connection: gRPC clients in
    one process share their connections."""
    caller = CURRENT_CALLER.get()
    return f"token {caller.name}" if caller is not None else f"call {id(call)}"
