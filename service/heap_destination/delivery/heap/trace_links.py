"""Which calls a request to Heap carries events of, for the request's span links.

An event remembers the span of the call that brought it (a unary call, or a stream).
While a bulk request is sent, the contexts of its events' calls are current, and the
Heap client links its span to each distinct one. Without tracing configured, every span
is invalid and nothing is kept.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from opentelemetry import trace
from opentelemetry.trace import SpanContext

_CARRIED: ContextVar[tuple[SpanContext, ...]] = ContextVar("heap_destination_carried", default=())


def call_context() -> SpanContext | None:
    """The current call's span context, when it is being traced."""
    context = trace.get_current_span().get_span_context()
    return context if context.is_valid else None


@contextmanager
def carrying(contexts: Iterable[SpanContext | None]) -> Iterator[None]:
    """Makes the distinct `contexts` those of the request sent within."""
    distinct = {(c.trace_id, c.span_id): c for c in contexts if c is not None}
    token = _CARRIED.set(tuple(distinct.values()))
    try:
        yield
    finally:
        _CARRIED.reset(token)


def carried() -> tuple[SpanContext, ...]:
    return _CARRIED.get()
