"""Stored track events the app's bulk budget has no room for, sent as single-event requests.

Heap's single-event track API documents a limit per identity only (30 requests per 30 s
per identity per app). It is kept in the store's budget ledger, so every process on the
store counts the same requests, under a key of the app's own for this path (app ids are
decimal digits, so the key is never an app's bulk key). How fast one app's requests go
adapts to Heap's answers as in live delivery (AdaptiveRate), in each process: slow
start, halved and held by a 429 on either path (a bulk 429 the shared budget had room
for holds it for `max_hold`, as single events then count against the app after all).

A request gets one attempt. Heap's 2xx delivers the event; a rejection is handled as a
bulk request's; any other answer leaves the event to the store's retries, as a bulk
request's failure would. None starts after the batch's `start_until`, so that every
request is answered or abandoned well within the batch's lease.
"""

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from heap_destination.delivery.errors import HeapRejected, HeapUnavailable
from heap_destination.delivery.heap.bodies import TRACK_PATH, single_track_body_from_object
from heap_destination.delivery.heap.client import HeapClient
from heap_destination.delivery.limits.adaptive_rate import (
    AdaptiveRate,
    AdaptiveRateSettings,
    AppRates,
)
from heap_destination.store import Budget, Store, StoredItem

# Longest sleep while waiting for the app's rate to have room.
_MAX_PACING_SLEEP = 0.05


@dataclass(frozen=True)
class StoredSinglesSettings:
    budget: Budget = field(default_factory=lambda: Budget(None, 30, 30.0))
    """Heap's documented single-event limit: 30 requests per 30 s per identity."""
    max_in_flight: int = 64
    """Single-event requests of one batch out at once, within the service's request slots."""
    rate: AdaptiveRateSettings = field(default_factory=AdaptiveRateSettings)


@dataclass
class SinglesOutcome:
    """What became of the events offered to the single path."""

    delivered: list[tuple[StoredItem, int]] = field(default_factory=list)
    """With Heap's status."""
    rejected: list[tuple[StoredItem, HeapRejected]] = field(default_factory=list)
    failed: list[tuple[StoredItem, HeapUnavailable]] = field(default_factory=list)
    """Heap answered neither 2xx nor a rejection, or was not reached."""
    refused: list[StoredItem] = field(default_factory=list)
    """Not sent: their identities had no room left in the ledger."""
    retry_at: float | None = None
    """When (a store time) the identities refused have room again; None when none was."""
    unsent: list[StoredItem] = field(default_factory=list)
    """Not sent: the app's rate had no room for them in time."""


def ledger_key(app_id: str) -> str:
    """The budget ledger's key of an app's single-event requests."""
    return f"{app_id}:single-event"


class StoredSingles:
    def __init__(
        self,
        store: Store,
        client: HeapClient,
        settings: StoredSinglesSettings,
        caller: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._client = client
        self._settings = settings
        self._caller = caller
        self._clock = clock
        self._rates = AppRates(settings.rate, clock)

    def bulk_throttled(self, app_id: str, sent_at: float, retry_after: float | None) -> None:
        """Heap answered 429 to a bulk request the shared budget had room for."""
        self._rates.of(app_id).bulk_throttled(sent_at, retry_after, self._clock())

    def held(self, app_id: str) -> bool:
        return self._rates.of(app_id).hold(self._clock()) > 0

    async def send(
        self,
        items: list[StoredItem],
        start_until: float,
        request_time: float,
        answer_timeout: float | None = None,
    ) -> SinglesOutcome:
        """Sends track `items` of one app one per request, as the identities' room in the
        ledger and the app's rate allow, starting none after `start_until` (monotonic);
        each request may wait `request_time` seconds to be sent, and then, when given,
        `answer_timeout` seconds for Heap's answer (see HeapClient.post)."""
        outcome = SinglesOutcome()
        app_id = items[0].app_id
        rate = self._rates.of(app_id)
        wanted = Counter(item.identity for item in items)
        reservation = await self._store.reserve(ledger_key(app_id), wanted, self._settings.budget)
        room = dict(reservation.granted)
        outcome.retry_at = reservation.retry_at
        in_flight = asyncio.Semaphore(self._settings.max_in_flight)
        sending: list[asyncio.Task[None]] = []
        # Whether Heap answered a request, or may have received one it never answered:
        # either way the request counts against the identity's room.
        answered = False

        async def one(item: StoredItem) -> None:
            nonlocal answered
            try:
                sent_at = self._clock()
                url = item.base_url + TRACK_PATH
                body = single_track_body_from_object(app_id, item.body)
                deadline = time.monotonic() + request_time
                try:
                    status = await self._client.post(
                        url,
                        body,
                        deadline,
                        self._caller,
                        max_attempts=1,
                        answer_timeout=answer_timeout,
                        app_id=app_id,
                    )
                except HeapRejected as rejection:
                    answered = True
                    outcome.rejected.append((item, rejection))
                except HeapUnavailable as failure:
                    answered = answered or failure.status not in (None, 429)
                    answered = answered or failure.maybe_received
                    if failure.status == 429:
                        rate.throttled(sent_at, failure.retry_after, self._clock())
                    outcome.failed.append((item, failure))
                else:
                    answered = True
                    rate.accepted()
                    outcome.delivered.append((item, status))
            finally:
                in_flight.release()

        try:
            out_of_time = False
            for item in items:
                if room.get(item.identity, 0) <= 0:
                    outcome.refused.append(item)
                    continue
                if not out_of_time and await self._room_in_rate(rate, start_until):
                    await in_flight.acquire()
                    out_of_time = self._clock() >= start_until
                    if not out_of_time:
                        room[item.identity] -= 1
                        sending.append(asyncio.create_task(one(item)))
                        continue
                    in_flight.release()
                out_of_time = True
                outcome.unsent.append(item)
            if sending:
                await asyncio.gather(*sending)
        finally:
            for task in sending:
                task.cancel()
            # Heap counts the requests it answered; one it never saw takes no room.
            if answered:
                await asyncio.shield(self._store.settle(reservation.id))
            else:
                await asyncio.shield(self._store.refund(reservation.id))
        return outcome

    async def _room_in_rate(self, rate: AdaptiveRate, until: float) -> bool:
        """Waits until the app's rate has room for one more request; False when it will
        not before `until`."""
        while True:
            now = self._clock()
            if now >= until:
                return False
            if rate.try_acquire(now):
                return True
            wait = max(rate.hold(now), 1.0 / max(rate.rate, 1.0))
            if now + wait > until:
                return False
            await asyncio.sleep(min(wait, _MAX_PACING_SLEEP))
