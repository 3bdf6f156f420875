"""Segment write keys: a token from the tokens file, sent as `Authorization: Basic
base64(writeKey + ":")` or as the body's `writeKey`, and the one Heap app it sends to.

A key sends to its token's write_key_app_id if set, else to the token's only app_id,
else to the server's default app_id; a token that resolves to no app or to several
cannot be a write key. Without tokens (allowed on loopback only) any key, or none, sends
to the default app_id.
"""

import binascii
from base64 import b64decode
from collections.abc import Callable
from dataclasses import dataclass

from heap_destination.api.caller import Caller


class WrongKey(Exception):
    """No write key, one the service does not know, or one that cannot be a write key
    (answered 401 with this reason)."""


@dataclass(frozen=True)
class WriteKey:
    caller: Caller | None
    """None when the service runs without tokens."""
    app_id: str


class WriteKeys:
    def __init__(
        self, callers: Callable[[str], Caller | None] | None, default_app_id: str | None
    ) -> None:
        """`callers` finds a token's caller (TokenStore.caller); None: no tokens."""
        self._callers = callers
        self._default_app_id = default_app_id

    def resolve(self, authorization: str | None, body_key: object) -> WriteKey:
        """The key's caller and app; raises WrongKey."""
        key = header_key(authorization) if authorization else None
        if key is None and isinstance(body_key, str) and body_key:
            key = body_key
        if self._callers is None:
            if not self._default_app_id:
                raise WrongKey(
                    "this service has no default app_id (--app-id) and no tokens file, so "
                    "a write key sends nowhere"
                )
            return WriteKey(None, self._default_app_id)
        if key is None:
            raise WrongKey(
                "no write key: send it as Authorization: Basic base64(writeKey + ':') or as "
                "the body's writeKey"
            )
        caller = self._callers(key)
        if caller is None:
            raise WrongKey("the write key is not a token this service knows")
        app_id = key_app_id(caller, self._default_app_id)
        if isinstance(app_id, WrongKey):
            raise app_id
        return WriteKey(caller, app_id)


def key_app_id(caller: Caller, default_app_id: str | None) -> str | WrongKey:
    """The app a token sends to as a write key, or why it cannot be one."""
    if caller.write_key_app_id:
        return caller.write_key_app_id
    if caller.app_ids is not None:
        if len(caller.app_ids) == 1:
            return next(iter(caller.app_ids))
        if caller.app_ids:
            return WrongKey(
                f"token {caller.name!r} covers several app_ids and names none as its "
                "write_key_app_id in the tokens file, so it cannot be a write key"
            )
        return WrongKey(f"token {caller.name!r} covers no app_id, so it cannot be a write key")
    if default_app_id:
        return default_app_id
    return WrongKey(
        f"token {caller.name!r} covers every app_id and this service has no default "
        "app_id (--app-id): set its write_key_app_id in the tokens file"
    )


def header_key(authorization: str) -> str | None:
    """The write key of a Basic authorization header (the user name; the password is
    empty), or None when the header is not one."""
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    key = decoded.partition(":")[0]
    return key or None
