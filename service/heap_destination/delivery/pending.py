"""An item waiting for Heap, with the future its caller waits on."""

import asyncio
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from opentelemetry.trace import SpanContext

from heap_destination.delivery.errors import HeapUnavailable
from heap_destination.delivery.futures import mark_retrieved
from heap_destination.delivery.trace_links import call_context

Item = TypeVar("Item")


@dataclass
class Pending(Generic[Item]):
    item: Item
    deadline: float
    """time.monotonic() by which Heap must have accepted it."""
    caller: str
    """Whose turn its request waits in (see RequestSlots)."""
    future: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    call: SpanContext | None = field(default_factory=call_context)
    """The traced call that brought it, if any (see trace_links)."""

    def __post_init__(self) -> None:
        self.future.add_done_callback(mark_retrieved)

    def settle(self, error: BaseException | None) -> None:
        """Answers the caller, once: Heap accepted the item (error None), or not."""
        if self.future.done():
            return
        if error is None:
            self.future.set_result(None)
        else:
            self.future.set_exception(error)


def stopped() -> HeapUnavailable:
    return HeapUnavailable("the service stopped before Heap answered")
