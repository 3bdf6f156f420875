from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from heap_destination.delivery.engine import DeliveryEngine, EngineSettings
from heap_destination.delivery.heap.client import HeapClient, new_http_client
from heap_destination.delivery.request_slots import RequestSlots
from heap_destination.domain.destination import Destination
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.sim import HeapSimulator
from heap_destination.store import Store, open_store
from tests.delivery.engine_support import FAST, MAX_REQUESTS, NO_RATE_LIMITS
from tests.delivery.stored_support import APP, running_delivery


@pytest.fixture
def sim(simulator: HeapSimulator) -> HeapSimulator:
    return simulator


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(f"sqlite:{tmp_path / 'store.db'}")
    yield opened
    await opened.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with new_http_client(8) as client:
        yield client


@pytest.fixture
def destination(sim: HeapSimulator) -> Destination:
    return Destination(APP, sim.url, NestedMode.FLATTEN, False)


@pytest.fixture
def deliver(store: Store, http: aiohttp.ClientSession) -> Callable[..., Any]:
    """`async with deliver(**settings):` runs a stored delivery worker for the block."""
    return lambda **settings: running_delivery(store, http, **settings)


@pytest.fixture
async def make_engine(
    http: aiohttp.ClientSession,
) -> AsyncIterator[Callable[..., DeliveryEngine]]:
    """Builds engines on a real HeapClient (rate limits off unless set); whatever they
    still hold is dropped at the end."""
    engines: list[DeliveryEngine] = []

    def make(slots: RequestSlots | None = None, **settings: object) -> DeliveryEngine:
        settings.setdefault("rate_limits", NO_RATE_LIMITS)
        settings.setdefault("keep_unused_destination", 0.0)
        client = HeapClient(http, FAST, slots or RequestSlots(MAX_REQUESTS))
        engine = DeliveryEngine(client, EngineSettings(**settings))  # type: ignore[arg-type]
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        await engine.drain(grace=0)
