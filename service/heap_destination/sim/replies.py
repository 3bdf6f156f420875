"""HTTP answers, independent of how they are written to the socket."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Reply:
    status: int
    body: object | None = None
    """Any JSON-serialisable value, or None for an empty answer."""
    headers: Mapping[str, str] = field(default_factory=dict)

    def payload(self) -> bytes:
        return b"" if self.body is None else json.dumps(self.body).encode()


def json_reply(body: object, status: int = 200) -> Reply:
    return Reply(status, body)


def error_reply(status: int, message: str, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(status, {"error": message}, headers or {})


def no_content() -> Reply:
    return Reply(204)


def parse_json(raw: bytes) -> object:
    """Parses a request body; raises ValueError when it is not JSON."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise ValueError(f"body: not valid JSON ({error})") from error
