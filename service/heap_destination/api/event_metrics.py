"""Counting each event's fate in the service's metrics.

Each labelled counter is looked up once per set of labels (all from small fixed sets:
kinds, ways in, reasons) and kept: the lookup cost more than the count. A stream tallies
its events and adds the tallies up (StreamTally): each add takes the counter's lock.
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
    *,
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


class StreamTally:
    """A stream's received and successful events, counted here and added to the metrics
    by `add_up`: once per message read and per response written, not once per event.
    Once the stream has ended (`close`), an event still settling is counted at once."""

    __slots__ = ("_closed", "_received", "_succeeded", "_via")

    def __init__(self, via: str = "stream") -> None:
        """`via`: how the events came (the label of events received)."""
        self._via = via
        self._received: dict[str, int] = {}
        self._succeeded: dict[tuple[str, bool], int] = {}
        self._closed = False

    def received(self, kind: str) -> None:
        self._received[kind] = self._received.get(kind, 0) + 1

    def succeeded(self, kind: str, warnings: Iterable[PropertyWarning], *, stored: bool) -> None:
        """As settled(kind, None, warnings, stored=stored)."""
        if self._closed:
            settled(kind, None, warnings, stored=stored)
            return
        key = (kind, stored)
        self._succeeded[key] = self._succeeded.get(key, 0) + 1
        for warning in warnings:
            _warned(warning.reason.value).inc()

    def add_up(self) -> None:
        for kind, count in self._received.items():
            _received(kind, self._via).inc(count)
        for (kind, stored), count in self._succeeded.items():
            (_stored if stored else _delivered)(kind).inc(count)
        self._received.clear()
        self._succeeded.clear()

    def close(self) -> None:
        """Adds up what is counted; later successes go to the metrics one by one."""
        self.add_up()
        self._closed = True
