"""What the service asks Heap to do, before it is written as HTTP bodies."""

from dataclasses import dataclass
from datetime import datetime

from heap_destination.domain.json_value import FlatProperties


@dataclass
class HeapEvent:
    """One event for Heap's track API."""

    identity: str
    event: str
    properties: FlatProperties
    idempotency_key: str
    timestamp: datetime | None = None
    session_id: str | None = None


@dataclass
class HeapUserProperties:
    """Properties to set on one identity with Heap's add_user_properties API."""

    identity: str
    properties: FlatProperties


@dataclass
class HeapIdentify:
    """Binds Heap's numeric user id of a device to an identity (Heap's identify API)."""

    identity: str
    heap_user_id: str
    timestamp: datetime | None = None


@dataclass
class HeapAccountProperties:
    """Properties to set on one account with Heap's add_account_properties API."""

    account_id: str
    properties: FlatProperties
