"""What every unary call shares: back-pressure, waiting within the deadline."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from heap_destination.api.in_flight import InFlightLimit
from heap_destination.delivery.engine import DeliveryEngine
from heap_destination.delivery.errors import HeapUnavailable, Overloaded, ShuttingDown
from heap_destination.delivery.outcomes import delivery_error

# Suggested wait for a caller turned away because the service is at its in-flight bound.
OVERLOADED_RETRY_AFTER = 1.0


async def deliver_unary(
    engine: DeliveryEngine,
    in_flight: InFlightLimit,
    deadline: float,
    size: int,
    submit: Callable[[], Awaitable[asyncio.Future[Any]]],
) -> None:
    """Submits one call's Heap work (`size` serialized bytes; `submit` admits and
    queues it) and waits for Heap's answer, or raises."""
    if engine.draining:
        raise ShuttingDown()
    if not in_flight.has_room(size):
        raise Overloaded(OVERLOADED_RETRY_AFTER)
    in_flight.take(size)
    try:
        delivered = await submit()
        if not delivered.done():
            # Heap's answer settles the future; the deadline fails it first if it comes
            # first (a later answer then finds it done). One timer, no waiter per call.
            timer = asyncio.get_running_loop().call_later(
                max(0.0, deadline - time.monotonic()), _past_deadline, delivered
            )
            try:
                await delivered
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # the call itself was cancelled
            except Exception:
                pass  # read below, as delivery_error
            finally:
                timer.cancel()
        error = delivery_error(delivered)
        if error is not None:
            raise error
    finally:
        in_flight.give_back(size)


def _past_deadline(delivered: asyncio.Future[Any]) -> None:
    if not delivered.done():
        delivered.set_exception(HeapUnavailable("Heap did not answer before the call's deadline"))
