"""The durable side of a server: its store, group commits, background delivery and
the store's monitor, started and stopped together."""

import asyncio
import contextlib
import logging
import os
import socket
from dataclasses import dataclass

import aiohttp
from opentelemetry.trace import Tracer

from heap_destination.app.health_reasons import HealthReasons
from heap_destination.app.settings import ServiceSettings, SettingsError
from heap_destination.app.store_monitor import StoreMonitor
from heap_destination.delivery.heap.client import HeapClient
from heap_destination.delivery.heap.retry_policy import RetryPolicy
from heap_destination.delivery.request_slots import RequestSlots
from heap_destination.durable.delivery import StoredDelivery
from heap_destination.durable.intake import StoredIntake
from heap_destination.store import (
    GroupCommit,
    Store,
    StoreDamaged,
    StoreFileEmpty,
    StoreUnavailable,
    StoreUnusable,
    open_store,
)

log = logging.getLogger(__name__)


@dataclass
class DurableDelivery:
    store: Store
    commits: GroupCommit
    intake: StoredIntake
    delivery: StoredDelivery
    tasks: list[asyncio.Task[None]]

    @classmethod
    async def start(
        cls,
        settings: ServiceSettings,
        url: str,
        http: aiohttp.ClientSession,
        slots: RequestSlots,
        tracer: Tracer | None,
        health: HealthReasons,
    ) -> "DurableDelivery":
        """Opens (and migrates) the store, resumes paused apps, and starts delivering.

        Raises SettingsError for a store refused as it is (see open_store), OSError for
        one that cannot be reached or written."""
        store = await _open(settings, url)
        try:
            resumed = await store.resume_apps(None)
        except (StoreUnavailable, StoreDamaged) as error:
            await store.close()
            raise OSError(f"the store cannot be written: {error}".strip()) from None
        if resumed:
            log.info("resumed delivery to paused apps at start-up", extra={"app_ids": resumed})
        stored = settings.stored_delivery
        # One attempt per request: the store keeps the retries, with their backoff.
        policy = RetryPolicy(max_attempts=1, attempt_timeout=stored.attempt_timeout)
        delivery = StoredDelivery(
            store,
            HeapClient(http, policy, slots, tracer),
            stored,
            worker=f"{socket.gethostname()}:{os.getpid()}",
        )
        commits = GroupCommit(store)
        monitor = StoreMonitor(store, health, settings.history_retention)
        tasks = [asyncio.create_task(delivery.run()), asyncio.create_task(monitor.run())]
        intake = StoredIntake(commits, delivery.wake, monitor.wake)
        return cls(store, commits, intake, delivery, tasks)

    async def stop_delivering(self, grace: float) -> None:
        """Commits what was handed over and gives batches on their way `grace` seconds;
        undelivered events wait in the store for the next start."""
        await self.commits.close()
        await self.delivery.stop(grace)
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def close(self) -> None:
        """Closes the store, once no call can reach it any more."""
        await self.commits.close()
        await self.store.close()


async def _open(settings: ServiceSettings, url: str) -> Store:
    try:
        return await open_store(
            url,
            max_items=settings.max_stored_events,
            max_items_per_app=settings.max_stored_events_per_app,
            create_empty=settings.store_create,
        )
    except StoreFileEmpty as error:
        raise SettingsError(f"{error}; --store-create makes a new store in it") from None
    except StoreUnusable as error:
        raise SettingsError(str(error)) from None
    except ValueError as error:
        raise SettingsError(f"--store: {error}") from None
    except StoreUnavailable as error:
        raise OSError(f"the store cannot be opened: {error}".strip()) from None
