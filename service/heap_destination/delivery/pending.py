"""An item waiting for Heap, with the Answer its submitter is told the outcome by."""

from typing import Generic, TypeVar

from opentelemetry.trace import SpanContext

from heap_destination.delivery.answers import Answer, tell
from heap_destination.delivery.errors import HeapUnavailable
from heap_destination.delivery.heap.trace_links import call_context

Item = TypeVar("Item")


class Pending(Generic[Item]):
    __slots__ = ("_answer", "call", "caller", "deadline", "item")

    def __init__(self, item: Item, deadline: float, caller: str, answer: Answer) -> None:
        self.item = item
        self.deadline = deadline
        """time.monotonic() by which Heap must have accepted it."""
        self.caller = caller
        """Whose turn its request waits in (see RequestSlots)."""
        self.call: SpanContext | None = call_context()
        """The traced call that brought it, if any (see trace_links)."""
        self._answer: Answer | None = answer

    @property
    def settled(self) -> bool:
        return self._answer is None

    def settle(self, error: BaseException | None) -> None:
        """Answers the submitter, once: Heap accepted the item (error None), or not."""
        answer, self._answer = self._answer, None
        if answer is not None:
            tell(answer, error)


def stopped() -> HeapUnavailable:
    return HeapUnavailable("the service stopped before Heap answered")
