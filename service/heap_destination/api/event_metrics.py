"""Counting each event's fate in the service's metrics."""

from collections.abc import Iterable

from heap_destination.api.error_status import ServiceError, describe
from heap_destination.domain.property_warnings import PropertyWarning
from heap_destination.metrics import (
    EVENTS_DELIVERED,
    EVENTS_FAILED,
    EVENTS_RECEIVED,
    EVENTS_STORED,
    PROPERTY_WARNINGS,
)


def received(kind: str, via: str) -> None:
    EVENTS_RECEIVED.labels(kind, via).inc()


def settled(
    kind: str,
    error: ServiceError | None,
    warnings: Iterable[PropertyWarning],
    stored: bool = False,
) -> None:
    """Records one event's outcome: delivered (or, in ack mode STORED, stored: background
    delivery counts it delivered later), or failed with its ErrorInfo reason."""
    if error is None:
        (EVENTS_STORED if stored else EVENTS_DELIVERED).labels(kind).inc()
    else:
        EVENTS_FAILED.labels(kind, describe(error).reason).inc()
    for warning in warnings:
        PROPERTY_WARNINGS.labels(warning.reason.value).inc()
