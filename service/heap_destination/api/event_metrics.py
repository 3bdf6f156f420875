"""Counting each event's fate in the service's metrics.

Each labelled counter is looked up once per set of labels (all from small fixed sets:
kinds, ways in, reasons) and kept: the lookup cost more than the count.
"""

from collections.abc import Iterable
from functools import cache

from heap_destination.api.error_status import ServiceError, describe
from heap_destination.domain.property_warnings import PropertyWarning
from heap_destination.metrics import (
    EVENTS_DELIVERED,
    EVENTS_FAILED,
    EVENTS_RECEIVED,
    EVENTS_STORED,
    PROPERTY_WARNINGS,
)

_received = cache(EVENTS_RECEIVED.labels)
_delivered = cache(EVENTS_DELIVERED.labels)
_stored = cache(EVENTS_STORED.labels)
_failed = cache(EVENTS_FAILED.labels)
_warned = cache(PROPERTY_WARNINGS.labels)


def received(kind: str, via: str) -> None:
    _received(kind, via).inc()


def settled(
    kind: str,
    error: ServiceError | None,
    warnings: Iterable[PropertyWarning],
    stored: bool = False,
) -> None:
    """Records one event's outcome: delivered (or, in ack mode STORED, stored: background
    delivery counts it delivered later), or failed with its ErrorInfo reason."""
    if error is None:
        (_stored if stored else _delivered)(kind).inc()
    else:
        _failed(kind, describe(error).reason).inc()
    for warning in warnings:
        _warned(warning.reason.value).inc()
