"""A caller that waits on its own event's answer (a unary call, an HTTP intake request)
does not wait for another's request to Heap as well: its partial batch goes out after its
linger, beside a request still out."""

import asyncio
from collections.abc import Callable

from heap_destination.delivery.engine import DeliveryEngine
from heap_destination.sim import HeapSimulator
from heap_destination.sim.faults import Fault
from tests.delivery.engine_support import MAX_REQUESTS
from tests.delivery.test_engine_destinations import CountingSlots, destination, in_seconds, track

LINGER = 0.2
HEAP_LATENCY_MS = 1_500
"""Far longer than a linger."""


async def test_a_later_callers_event_goes_out_while_an_earlier_request_is_still_out(
    sim: HeapSimulator, make_engine: Callable[..., DeliveryEngine]
) -> None:
    sim.inject(Fault(latency_ms=HEAP_LATENCY_MS, probability=1.0))
    slots = CountingSlots(MAX_REQUESTS)
    engine = make_engine(slots=slots, linger=LINGER)
    to = destination(sim, "1")

    first = await engine.submit_track(to, track(to, "user-1"), in_seconds(10))
    async with asyncio.timeout(5):  # its request goes out after the linger; Heap holds it
        while slots.in_use == 0:
            await asyncio.sleep(0.01)
    second = await engine.submit_track(to, track(to, "user-2"), in_seconds(10))
    await first
    await second

    assert slots.peak == 2
    assert sorted(request.body["events"][0]["identity"] for request in sim.accepted()) == [
        "user-1",
        "user-2",
    ]
