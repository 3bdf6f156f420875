"""A small typed Python client for the Heap destination service."""

from heap_destination.client.client import HeapDestinationClient
from heap_destination.client.errors import ErrorDetails, error_details
from heap_destination.client.event_errors import EventError, SenderClosed, SenderFull
from heap_destination.client.sender import Sender
from heap_destination.client.streaming import (
    account_event,
    identify_event,
    in_messages,
    track_event,
)

__all__ = [
    "ErrorDetails",
    "EventError",
    "HeapDestinationClient",
    "Sender",
    "SenderClosed",
    "SenderFull",
    "account_event",
    "error_details",
    "identify_event",
    "in_messages",
    "track_event",
]
