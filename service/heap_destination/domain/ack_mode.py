"""What an OK answer for an event promises its caller."""

from enum import Enum


class AckMode(Enum):
    DELIVERED = "delivered"
    """OK once Heap accepted the event."""
    STORED = "stored"
    """OK once the event is committed to the durable store, which delivers it later."""
