"""A small typed Python client for the Heap destination service."""

from heap_destination.client.client import HeapDestinationClient
from heap_destination.client.errors import ErrorDetails, error_details

__all__ = ["ErrorDetails", "HeapDestinationClient", "error_details"]
