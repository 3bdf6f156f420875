"""Callers' bearer tokens, each optionally limited to some app_ids."""

import hashlib
import hmac
import json
from collections.abc import Iterable
from pathlib import Path

from heap_destination.api.caller import Caller
from heap_destination.api.deletion.rights import UserDeleter

MIN_TOKEN_LENGTH = 16


class TokenStore:
    def __init__(self, entries: Iterable[tuple[str, Caller]]) -> None:
        # Only digests are kept, so a token never sits in memory dumps or reprs as text.
        self._callers = {_digest(token): caller for token, caller in entries}

    def __len__(self) -> int:
        return len(self._callers)

    def take_over(self, new: "TokenStore") -> None:
        """Serves `new`'s tokens from now on, in place, so everything holding this store
        (the interceptor, the write keys) sees them; a check under way finishes with the
        old ones."""
        self._callers = new._callers

    def callers(self) -> list[Caller]:
        return list(self._callers.values())

    def caller(self, token: str) -> Caller | None:
        digest = _digest(token)
        for known, caller in self._callers.items():
            if hmac.compare_digest(known, digest):
                return caller
        return None


def parse_tokens(text: str, source: str) -> TokenStore:
    """Tokens from JSON: [{"token": "...", "name": "billing", "app_ids": ["123"]}, ...].

    An entry with "may_delete_users": true may also delete users of its app_ids (false
    when left out). "write_key_app_id" names the app the token sends to when used as a
    Segment write key (over HTTP); it must be one of its app_ids when those are listed.

    Raises ValueError naming the entry and the rule it breaks (never the token itself).
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{source}: not JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(data, list) or not data:
        raise ValueError(f"{source}: must be a non-empty JSON list of token entries")
    entries = []
    for index, entry in enumerate(data):
        where = f"{source}[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("token"), str):
            raise ValueError(f"{where}: must be an object with a string 'token'")
        unknown = set(entry) - {"token", "name", "app_ids", "may_delete_users", "write_key_app_id"}
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
        if len(entry["token"]) < MIN_TOKEN_LENGTH:
            raise ValueError(f"{where}.token: must be at least {MIN_TOKEN_LENGTH} characters")
        app_ids = entry.get("app_ids")
        if app_ids is not None and (
            not isinstance(app_ids, list) or not all(isinstance(a, str) for a in app_ids)
        ):
            raise ValueError(f"{where}.app_ids: must be a list of strings")
        may_delete_users = entry.get("may_delete_users", False)
        if not isinstance(may_delete_users, bool):
            raise ValueError(f"{where}.may_delete_users: must be true or false")
        write_key_app_id = entry.get("write_key_app_id")
        if write_key_app_id is not None and (
            not isinstance(write_key_app_id, str) or not write_key_app_id.strip()
        ):
            raise ValueError(f"{where}.write_key_app_id: must be a non-empty string")
        if write_key_app_id is not None and app_ids is not None and write_key_app_id not in app_ids:
            raise ValueError(f"{where}.write_key_app_id: must be one of its app_ids")
        name = str(entry.get("name") or f"token {index}")
        allowed = frozenset(app_ids) if app_ids is not None else None
        kind = UserDeleter if may_delete_users else Caller
        caller = kind(name, allowed, write_key_app_id)
        entries.append((entry["token"], caller))
    return TokenStore(entries)


def read_tokens_file(path: Path) -> TokenStore:
    """The tokens of a tokens file; raises ValueError naming the file and the reason."""
    try:
        text = path.read_text()
    except OSError as error:
        raise ValueError(f"tokens file {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"tokens file {path}: not UTF-8 text") from None
    return parse_tokens(text, f"tokens file {path}")


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
