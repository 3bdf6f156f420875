"""Track events of apps under the budget scheduler, per destination: bulk requests for
events admitted to the bulk budget, single-event requests for those routed past it.

Every 429 reaches the scheduler (HeapClient.post's on_throttled): a 429 to a bulk request, when
the bulk budget had room, means something else uses the app's budget, so it narrows the
single path as a 429 to a single-event request does. A single-event request gets one
attempt: an event Heap did not take that way (429, 5xx, unreachable) waits for the bulk
budget and goes in bulk, which retries as usual; Heap rejecting it (400) fails it alone.
Either way the event's Answer is told once Heap accepted it, whichever path carried it.
"""

import asyncio
import time
from dataclasses import dataclass
from functools import partial

from heap_destination.delivery.answers import Answer
from heap_destination.delivery.batcher import BulkBatcher
from heap_destination.delivery.errors import HeapRejected, HeapUnavailable
from heap_destination.delivery.heap.bodies import (
    TRACK_PATH,
    bulk_track_body,
    single_track_body,
)
from heap_destination.delivery.heap.client import HeapClient
from heap_destination.delivery.limits.budget_scheduler import BudgetScheduler
from heap_destination.delivery.limits.rate_limiter import RateLimiter
from heap_destination.delivery.pending import stopped
from heap_destination.delivery.single_requests import SingleRequests
from heap_destination.domain.destination import Destination
from heap_destination.domain.heap_calls import HeapEvent
from heap_destination.domain.json_text import encode
from heap_destination.metrics import BULK_REQUEST_SIZE


@dataclass(frozen=True)
class TrackPathSettings:
    max_batch: int
    linger: float
    max_in_flight_requests: int
    """Bulk requests out at once per destination."""
    max_single_requests: int
    """Single-event requests out at once per destination."""
    max_destinations: int


@dataclass
class _Paths:
    bulk: BulkBatcher[HeapEvent]
    singles: SingleRequests[HeapEvent]

    @property
    def idle(self) -> bool:
        return self.bulk.idle and self.singles.idle


class ScheduledTracks:
    def __init__(
        self,
        client: HeapClient,
        scheduler: BudgetScheduler,
        bulk_budget: RateLimiter,
        settings: TrackPathSettings,
    ) -> None:
        self._client = client
        self._scheduler = scheduler
        self._bulk_budget = bulk_budget
        self._settings = settings
        self._paths: dict[tuple[str, str], _Paths] = {}
        self._fallbacks: set[asyncio.Task[None]] = set()
        self._stopping = False

    def submit_bulk(
        self,
        destination: Destination,
        event: HeapEvent,
        deadline: float,
        caller: str,
        answer: Answer,
        more_coming: bool = False,
    ) -> None:
        """Queues an event admitted to the bulk budget, which it settles once answered."""
        app_id, identity = destination.app_id, event.identity
        self._scheduler.bulk_queued(app_id)
        answered = partial(self._bulk_answered, app_id, identity, answer)
        self._paths_for(destination).bulk.add(event, deadline, caller, answered, more_coming)

    def _bulk_answered(
        self, app_id: str, identity: str, answer: Answer, error: BaseException | None
    ) -> None:
        self._scheduler.bulk_answered(app_id)
        self._bulk_budget.settle(app_id, identity, accepted=error is None)
        answer(error)

    def submit_single(
        self,
        destination: Destination,
        event: HeapEvent,
        deadline: float,
        caller: str,
        answer: Answer,
    ) -> None:
        """Sends an event the scheduler routed past the bulk budget."""
        sent = partial(self._sent, destination, event, deadline, caller, answer)
        self._paths_for(destination).singles.add(event, deadline, caller, sent)

    def idle(self, key: tuple[str, str]) -> bool:
        """Whether the destination (base_url, app_id) has no track event queued or out."""
        paths = self._paths.get(key)
        return paths is None or paths.idle

    def flush(self) -> None:
        for paths in self._paths.values():
            paths.bulk.flush()

    def tasks(self) -> set[asyncio.Task[None]]:
        paths = self._paths.values()
        return {t for p in paths for t in p.bulk.tasks | p.singles.tasks} | self._fallbacks

    def cancel(self) -> None:
        """Stops sending; every event not yet answered fails with HeapUnavailable."""
        self._stopping = True
        for paths in self._paths.values():
            paths.bulk.cancel()
            paths.singles.cancel()
        for task in list(self._fallbacks):
            task.cancel()

    def _paths_for(self, destination: Destination) -> _Paths:
        key = (destination.base_url, destination.app_id)
        paths = self._paths.get(key)
        if paths is None:
            if len(self._paths) >= self._settings.max_destinations:
                self._paths = {k: p for k, p in self._paths.items() if not p.idle}
            s = self._settings
            paths = self._paths[key] = _Paths(
                BulkBatcher(
                    partial(self._send_bulk, destination),
                    s.max_batch,
                    s.linger,
                    s.max_in_flight_requests,
                ),
                SingleRequests(partial(self._send_single, destination), s.max_single_requests),
            )
        return paths

    async def _send_bulk(
        self, destination: Destination, events: list[HeapEvent], deadline: float, caller: str
    ) -> None:
        BULK_REQUEST_SIZE.labels(TRACK_PATH).observe(len(events))
        body = encode(bulk_track_body(destination.app_id, events))
        throttled = partial(self._scheduler.bulk_throttled, destination.app_id)
        url = destination.base_url + TRACK_PATH
        await self._client.post(url, body, deadline, caller, on_throttled=throttled)

    async def _send_single(
        self, destination: Destination, event: HeapEvent, deadline: float, caller: str
    ) -> None:
        app_id, identity = destination.app_id, event.identity
        body = encode(single_track_body(app_id, event))
        sent_at = time.monotonic()
        try:
            status = await self._client.post(
                destination.base_url + TRACK_PATH, body, deadline, caller, max_attempts=1
            )
        except HeapUnavailable as failure:
            self._scheduler.single_answered(
                app_id, identity, sent_at, failure.status, failure.retry_after
            )
            raise
        except HeapRejected as rejection:
            self._scheduler.single_answered(app_id, identity, sent_at, rejection.status)
            raise
        except BaseException:
            self._scheduler.single_given_up(app_id, identity)
            raise
        self._scheduler.single_answered(app_id, identity, sent_at, status)

    def _sent(
        self,
        destination: Destination,
        event: HeapEvent,
        deadline: float,
        caller: str,
        answer: Answer,
        error: BaseException | None,
    ) -> None:
        if isinstance(error, HeapUnavailable) and not self._stopping:
            task = asyncio.create_task(
                self._in_bulk(destination, event, deadline, caller, answer, error)
            )
            self._fallbacks.add(task)
            task.add_done_callback(self._fallbacks.discard)
        else:
            answer(error)

    async def _in_bulk(
        self,
        destination: Destination,
        event: HeapEvent,
        deadline: float,
        caller: str,
        answer: Answer,
        failure: HeapUnavailable,
    ) -> None:
        """Waits for the bulk budget until `deadline`, then sends the event in bulk."""
        try:
            async with asyncio.timeout(deadline - time.monotonic()):
                await self._bulk_budget.admit(destination.app_id, event.identity)
        except TimeoutError:
            answer(failure)  # what kept it from Heap is Heap's answer, not the wait
            return
        except asyncio.CancelledError:
            answer(stopped())
            raise
        self.submit_bulk(destination, event, deadline, caller, answer)
