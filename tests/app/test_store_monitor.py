"""Health follows whether the store can be reached and take commits; metrics follow its
backlog."""

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from grpc_health.v1 import health, health_pb2
from prometheus_client import REGISTRY

from heap_destination.app.health_reasons import WORKERS_MISSING, HealthReasons
from heap_destination.app.store_monitor import StoreMonitor
from heap_destination.store import AppBacklog, NewItem, Store, open_store
from tests.support.damaged_store import damage_items

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class Outage:
    """A real store that can be made unreachable, as a database outage would: the one
    failure a test cannot cause in a local SQLite file."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.down = False
        self.checks = 0

    async def backlog(self) -> list[AppBacklog]:
        if self.down:
            raise ConnectionError("the store's server went away")
        backlog = await self.store.backlog()
        self.checks += 1
        return backlog

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


@pytest.fixture
async def store(path: Path) -> AsyncIterator[Store]:
    opened = await open_store(f"sqlite:{path}")
    yield opened
    await opened.close()


async def _with_items(store: Store) -> Store:
    await store.append([NewItem("111", "http://h", "track", f"u{n}", b"{}") for n in range(2000)])
    return store


async def status_of(servicer: health.aio.HealthServicer, name: str) -> int:
    request = health_pb2.HealthCheckRequest(service=name)
    response = await servicer.Check(request, None)  # type: ignore[arg-type]
    return int(response.status)


async def test_health_is_not_serving_while_the_store_is_unreachable_and_serving_after(
    store: Store,
) -> None:
    servicer = health.aio.HealthServicer()
    reasons = HealthReasons(servicer, ("svc",), held=())
    outage = Outage(store)
    monitor = StoreMonitor(outage, reasons, history_retention=3600)  # type: ignore[arg-type]

    outage.down = True
    await monitor.check()
    assert await status_of(servicer, "svc") == NOT_SERVING
    assert REGISTRY.get_sample_value("heap_destination_store_reachable") == 0

    outage.down = False
    await monitor.check()
    assert await status_of(servicer, "svc") == SERVING
    assert REGISTRY.get_sample_value("heap_destination_store_reachable") == 1


async def test_backlog_and_paused_apps_are_metrics(store: Store) -> None:
    item = NewItem("111", "http://h", "track", "u", b"{}", accepted_at=time.time() - 30)
    await store.append([item, item])
    await store.pause_app("222", "Heap answered 401")
    reasons = HealthReasons(health.aio.HealthServicer(), ())
    monitor = StoreMonitor(store, reasons, history_retention=3600)

    await monitor.check()

    backlog = "heap_destination_stored_backlog_events"
    assert REGISTRY.get_sample_value(backlog, {"app_id": "111"}) == 2
    age = REGISTRY.get_sample_value("heap_destination_stored_oldest_age_seconds", {"app_id": "111"})
    assert age is not None and age >= 30
    assert REGISTRY.get_sample_value("heap_destination_paused_apps") == 1


async def test_the_store_back_does_not_mean_serving_while_another_reason_holds(
    store: Store,
) -> None:
    servicer = health.aio.HealthServicer()
    reasons = HealthReasons(servicer, ("", "svc"), held=())
    outage = Outage(store)
    monitor = StoreMonitor(outage, reasons, history_retention=3600)  # type: ignore[arg-type]

    outage.down = True
    await monitor.check()
    await reasons.update(WORKERS_MISSING, holds=True)
    outage.down = False
    await monitor.check()
    assert [await status_of(servicer, name) for name in ("", "svc")] == [NOT_SERVING] * 2

    await reasons.update(WORKERS_MISSING, holds=False)
    assert [await status_of(servicer, name) for name in ("", "svc")] == [SERVING] * 2


async def test_health_is_not_serving_while_the_store_is_damaged_and_serving_once_it_passes(
    store: Store, path: Path
) -> None:
    servicer = health.aio.HealthServicer()
    reasons = HealthReasons(servicer, ("svc",), held=())
    monitor = StoreMonitor(await _with_items(store), reasons, history_retention=3600)
    damage = damage_items(path)

    await monitor.check()
    assert await status_of(servicer, "svc") == NOT_SERVING
    assert REGISTRY.get_sample_value("heap_destination_store_reachable") == 0

    damage.repair()
    async with asyncio.timeout(10):  # checking again waits in proportion to the last check
        while await status_of(servicer, "svc") != SERVING:
            await monitor.check()
            await asyncio.sleep(0.01)


async def test_a_wake_checks_at_once_instead_of_at_the_next_interval(
    store: Store, path: Path
) -> None:
    servicer = health.aio.HealthServicer()
    await servicer.set("svc", SERVING)
    reasons = HealthReasons(servicer, ("svc",), held=())
    watched = Outage(await _with_items(store))  # never down: it counts the checks
    monitor = StoreMonitor(
        watched,  # type: ignore[arg-type]
        reasons,
        history_retention=3600,
        check_interval=60,
    )
    running = asyncio.create_task(monitor.run())
    try:
        async with asyncio.timeout(5):  # its first check, on a sound store
            while watched.checks == 0:
                await asyncio.sleep(0.01)
        damage_items(path)

        monitor.wake()

        async with asyncio.timeout(5):
            while await status_of(servicer, "svc") != NOT_SERVING:
                await asyncio.sleep(0.01)
    finally:
        running.cancel()
