import json
import time
from typing import Any

from heap_destination.store import NewItem

APP = "1234567890"
OTHER_APP = "2222222222"
THIRD_APP = "3333333333"
BASE_URL = "https://heapanalytics.com"


def new_item(
    identity: str = "user-1", app_id: str = APP, endpoint: Any = "track", **fields: Any
) -> NewItem:
    body = {
        "identity": identity,
        "event": "Signed Up",
        "properties": {"plan": "pro"},
        "idempotency_key": f"key-{identity}",
    }
    values: dict[str, Any] = {
        "app_id": app_id,
        "base_url": BASE_URL,
        "endpoint": endpoint,
        "identity": identity,
        "body": json.dumps(body, separators=(",", ":")).encode(),
        "idempotency_key": f"key-{identity}",
        "accepted_at": time.time(),
    }
    values.update(fields)
    return NewItem(**values)


class Clock:
    """A clock the test moves by hand, injected into stores as `clock`."""

    def __init__(self, now: float = 1_900_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
