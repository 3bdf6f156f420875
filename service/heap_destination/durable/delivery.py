"""Background delivery of what the store holds, shared by every process on one store.

A worker claims a batch of one app and endpoint under a lease, asks the store's shared
budget how much of it Heap's rate limits allow now, sends that in one bulk request
(identifies one by one; track events past the bulk budget as single-event requests, see
singles.py), and records the outcome:

- accepted: delivered;
- rejected for its content (400, 413, 422): split in halves until the bad items are
  isolated, and those are dead-lettered with Heap's status and body;
- rejected for the app (401, 403, 404): the app is paused, its items wait unattempted;
- any other 4xx: dead-lettered;
- 429, 5xx or unreachable: retried with backoff (a 429 holds the whole app for its
  Retry-After) until --max-retry-age, then dead-lettered. A batch that has failed
  `split_after_failures` times is split in halves, level by level, until the failing
  items stand alone (while Heap accepts the app's other requests): only they go on
  retrying.

Items being retried never share a request with items on their first attempt, so an item
that keeps failing cannot hold back new ones. The lease of a batch is renewed while it is
worked on; whatever a crashed worker had leased is claimed again once its lease expires.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial

from prometheus_client import Counter

from heap_destination.delivery.errors import HeapRejected, HeapUnavailable
from heap_destination.delivery.heap.bodies import (
    ADD_ACCOUNT_PROPERTIES_PATH,
    ADD_USER_PROPERTIES_PATH,
    IDENTIFY_PATH,
    TRACK_PATH,
    bulk_body,
)
from heap_destination.delivery.heap.client import HeapClient, OnThrottled
from heap_destination.durable.app_acceptances import AppAcceptances
from heap_destination.durable.lease_renewal import leases_renewed
from heap_destination.durable.retry_delay import retry_delay
from heap_destination.durable.singles import (
    SinglesOutcome,
    StoredSingles,
    StoredSinglesSettings,
)
from heap_destination.metrics import (
    APP_ID_LABEL,
    APP_PAUSES,
    BULK_REQUEST_SIZE,
    DEAD_LETTERS,
    EVENTS_DELIVERED,
    RATE_LIMITED_EVENTS,
)
from heap_destination.store import Budget, Store, StoreDamaged, StoredItem

log = logging.getLogger(__name__)

_ABOUT_THE_APP = frozenset({401, 403, 404})
# Fairness key of background requests among callers' own (see RequestSlots).
STORED_CALLER = "stored delivery"
_IDENTIFIES_AT_ONCE = 8
# Levels a split of a failing batch goes down before it needs Heap to accept something
# of the app: enough to tell one or two failing items from an outage.
_LEVELS_WITHOUT_ACCEPTANCE = 2
_KIND = {
    "track": "track",
    "user_properties": "user_properties",
    "identify": "identify",
    "account_properties": "account",
}
# Present from the start at 0, so that the first dead letter or pause is an increase
# that rate() and increase() see.
for _kind in _KIND.values():
    DEAD_LETTERS.labels(_kind)
for _status in _ABOUT_THE_APP:
    APP_PAUSES.labels(str(_status))


@dataclass(frozen=True)
class StoredDeliverySettings:
    max_retry_age: float = 24 * 3600.0
    """Seconds after acceptance that an event is still retried; then it is dead."""
    lease_seconds: float = 60.0
    """How long a claimed batch is a worker's before another may claim it."""
    max_batch: int = 1000
    max_concurrent_batches: int = 8
    idle_poll: float = 0.2
    """Seconds between looks at the store when it had nothing due."""
    linger: float = 0.05
    """Seconds a claim waits, after one that was not full, for more events to gather:
    a steady trickle of calls then fills requests instead of sending a few events each."""
    initial_backoff: float = 1.0
    max_backoff: float = 300.0
    split_after_failures: int = 3
    """Failures (5xx, unreachable) after which a batch is split to find the items that
    fail (see `_split_failing`)."""
    attempt_timeout: float = 10.0
    budget: Budget = field(default_factory=lambda: Budget(15_000, 1_000, 60.0))
    single_events: StoredSinglesSettings | None = None
    """Track events past the bulk budget as single-event requests; None: bulk only."""

    @property
    def request_time(self) -> float:
        """Seconds one request may wait for its turn to be sent (then it gets
        `attempt_timeout` for Heap's answer): well inside the lease."""
        return min(self.attempt_timeout, self.lease_seconds / 2)


class StoredDelivery:
    def __init__(
        self,
        store: Store,
        client: HeapClient,
        settings: StoredDeliverySettings,
        worker: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._client = client
        self._settings = settings
        self._worker = worker
        self._clock = clock
        self._slots = asyncio.Semaphore(settings.max_concurrent_batches)
        self._singles = (
            StoredSingles(store, client, settings.single_events, STORED_CALLER)
            if settings.single_events is not None
            else None
        )
        self._acceptances = AppAcceptances(settings.max_backoff)
        self._wakeup = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False

    def wake(self) -> None:
        """New work was stored: look at the store now rather than at the next poll."""
        self._wakeup.set()

    async def run(self) -> None:
        """Claims and delivers until `stop`."""
        full = True
        while not self._stopping:
            if not full:
                await asyncio.sleep(self._settings.linger)
            await self._slots.acquire()
            try:
                items = await self._store.claim(
                    self._worker, self._settings.max_batch, self._settings.lease_seconds
                )
            except Exception as error:
                self._slots.release()
                log.warning("claiming stored events failed: %s", error)
                await asyncio.sleep(self._settings.idle_poll * 5)
                continue
            full = len(items) >= self._settings.max_batch
            if not items:
                self._slots.release()
                self._wakeup.clear()
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self._settings.idle_poll)
                continue
            task = asyncio.create_task(self._deliver_batch(items))
            self._tasks.add(task)
            task.add_done_callback(self._batch_done)

    async def stop(self, grace: float) -> None:
        """Stops claiming, gives batches on their way `grace` seconds, then gives back
        what is left unattempted."""
        self._stopping = True
        self._wakeup.set()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks))

    def _batch_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()
        if task.cancelled() or (error := task.exception()) is None:
            return
        if isinstance(error, StoreDamaged):  # the store logged the damage when it found it
            log.warning(
                "a stored batch's outcome was not recorded, as the store is damaged: its "
                "events are sent again, with the same idempotency keys, from a recovered store"
            )
            return
        log.error("delivering stored events failed unexpectedly", exc_info=error)

    async def _deliver_batch(self, items: list[StoredItem]) -> None:
        ids = [item.id for item in items]
        lease = self._settings.lease_seconds
        try:
            async with leases_renewed(self._store, ids, self._worker, lease):
                if items[0].endpoint == "identify":
                    await self._send_each(items)
                elif items[0].endpoint == "track" and self._budget_applies():
                    await self._send_within_budget(items)
                else:
                    await self._send_apart(items)
        except asyncio.CancelledError:
            # Stopping: what was not answered goes back, so a restart need not wait for
            # the lease. Heap may have it already; its idempotency keys make that safe.
            await asyncio.shield(self._store.release([i.id for i in items], self._clock()))
            raise

    async def _send_each(self, items: list[StoredItem]) -> None:
        """Heap's identify has no bulk form: one request per item, a few at once."""
        at_once = asyncio.Semaphore(_IDENTIFIES_AT_ONCE)

        async def send(item: StoredItem) -> None:
            async with at_once:
                await self._send([item])

        await asyncio.gather(*(send(item) for item in items))

    def _budget_applies(self) -> bool:
        budget = self._settings.budget
        return bool(budget.events_per_window_per_app or budget.events_per_window_per_identity)

    async def _send_within_budget(self, items: list[StoredItem]) -> None:
        wanted: dict[str, int] = {}
        for item in items:
            wanted[item.identity] = wanted.get(item.identity, 0) + 1
        app_id = items[0].app_id
        reservation = await self._store.reserve(app_id, wanted, self._settings.budget)
        room = dict(reservation.granted)
        sending: list[StoredItem] = []
        waiting: list[StoredItem] = []
        for item in items:
            if room.get(item.identity, 0) > 0:
                room[item.identity] -= 1
                sending.append(item)
            else:
                waiting.append(item)
        retry_at = reservation.retry_at or self._clock()
        singles = self._singles is not None and bool(waiting) and not self._singles.held(app_id)
        if waiting and not singles:
            _rate_limited(APP_ID_LABEL(app_id)).inc(len(waiting))
            await self._store.release([i.id for i in waiting], retry_at)
        if not sending and not singles:
            # Only the app's own limit holds all of it back: an identity at its limit
            # waits alone, so that the app's other identities are claimed meanwhile.
            if reservation.app_exhausted:
                reason = "waiting for Heap's rate limit budget"
                await self._store.hold_app(app_id, retry_at, reason)
            return
        if not sending:
            await self._send_singles(waiting, retry_at)
            return
        sent = _Sent()
        try:
            bulk = self._send_apart(sending)
            if singles:
                sent, _ = await asyncio.gather(bulk, self._send_singles(waiting, retry_at))
            else:
                sent = await bulk
        finally:
            # Heap counts only what it accepted; a request it answered with a refusal takes
            # no room, while one it may have received unanswered counts as sent.
            if sent.accepted or sent.unanswered:
                await self._store.settle(reservation.id)
            else:
                await self._store.refund(reservation.id)

    async def _send_singles(self, items: list[StoredItem], bulk_retry_at: float) -> None:
        """Sends track `items` the bulk budget refused as single-event requests, and
        records the outcome; what the single path cannot take waits for either path."""
        assert self._singles is not None
        settings = self._settings
        outcome = await self._singles.send(
            items,
            time.monotonic() + settings.lease_seconds / 2,
            settings.request_time,
            settings.attempt_timeout,
        )
        await self._record_singles(outcome, bulk_retry_at)

    async def _record_singles(self, outcome: SinglesOutcome, bulk_retry_at: float) -> None:
        by_status: dict[int, list[int]] = {}
        for item, status in outcome.delivered:
            by_status.setdefault(status, []).append(item.id)
        for status, ids in by_status.items():
            await self._store.mark_delivered(ids, status)
            EVENTS_DELIVERED.labels("track").inc(len(ids))
        about_the_app = [(i, r) for i, r in outcome.rejected if r.status in _ABOUT_THE_APP]
        if about_the_app:
            await self._rejected([i for i, _ in about_the_app], about_the_app[0][1])
        for item, rejection in outcome.rejected:
            if rejection.status not in _ABOUT_THE_APP:
                await self._rejected([item], rejection)
        if outcome.failed:
            await self._retry_later([item for item, _ in outcome.failed], outcome.failed[0][1])
        if outcome.refused:
            _rate_limited(APP_ID_LABEL(outcome.refused[0].app_id)).inc(len(outcome.refused))
            refused_until = min(bulk_retry_at, outcome.retry_at or bulk_retry_at)
            await self._store.release([i.id for i in outcome.refused], refused_until)
        if outcome.unsent:
            await self._store.release([i.id for i in outcome.unsent], self._clock())

    async def _send_apart(self, items: list[StoredItem]) -> "_Sent":
        """Sends items on their first attempt and items being retried in requests apart."""
        first_tries = [item for item in items if item.attempts <= 1]
        retries = [item for item in items if item.attempts > 1]
        if not first_tries or not retries:
            return await self._send(items)
        first, again = await asyncio.gather(self._send(first_tries), self._send(retries))
        return first + again

    async def _send(self, items: list[StoredItem]) -> "_Sent":
        """Sends `items` in one request (halves, when Heap rejects their content or they
        keep failing) and records the outcome."""
        sent, failure = await self._request(items)
        if failure is None:
            return sent
        if self._keeps_failing(items, failure):
            return sent + await self._split_failing(items, failure)
        await self._retry_later(items, failure)
        return sent

    async def _request(self, items: list[StoredItem]) -> tuple["_Sent", HeapUnavailable | None]:
        """One request for `items`, its outcome recorded but for a failure (429, 5xx,
        unreachable), which is returned for the caller to record."""
        first = items[0]
        url, body = _request(items)
        if first.endpoint != "identify":
            BULK_REQUEST_SIZE.labels(url.removeprefix(first.base_url)).observe(len(items))
        try:
            status = await self._client.post(
                url,
                body,
                time.monotonic() + self._settings.request_time,
                STORED_CALLER,
                on_throttled=self._bulk_throttled(first),
                answer_timeout=self._settings.attempt_timeout,
                app_id=first.app_id,
                events=len(items),
            )
        except HeapRejected as rejection:
            return await self._rejected(items, rejection), None
        except HeapUnavailable as failure:
            return _Sent(unanswered=failure.maybe_received), failure
        self._acceptances.accepted(first.app_id)
        await self._store.mark_delivered([item.id for item in items], status)
        EVENTS_DELIVERED.labels(_KIND[first.endpoint]).inc(len(items))
        return _Sent(accepted=len(items)), None

    def _keeps_failing(self, items: list[StoredItem], failure: HeapUnavailable) -> bool:
        """Whether to split a failed request: it failed as often as splitting waits for,
        and not for Heap's rate limit."""
        return (
            len(items) > 1
            and failure.status != 429
            and max(item.attempts for item in items) >= self._settings.split_after_failures
        )

    async def _split_failing(self, items: list[StoredItem], failure: HeapUnavailable) -> "_Sent":
        """Splits a request that keeps failing in halves, level by level, until the items
        that fail stand alone, and records each part's outcome.

        Past the second level, splitting goes on only once Heap has accepted a request of
        the app since the split began (one of its parts, or another batch): when Heap
        fails the app as a whole, a split costs six requests. What failed is retried
        together, so that the next attempt finds it in one batch again."""
        app_id = items[0].app_id
        started = self._acceptances.now()
        failing = [items]
        failed: list[StoredItem] = []
        sent = _Sent()
        level = 0
        while failing:
            level += 1
            halves = [half for part in failing for half in _halves(part)]
            outcomes = await asyncio.gather(*(self._request(half) for half in halves))
            failing = []
            for half, (half_sent, half_failure) in zip(halves, outcomes, strict=True):
                sent += half_sent
                if half_failure is None:
                    continue
                if failure.status != 429:
                    failure = half_failure
                if len(half) == 1 or half_failure.status == 429:
                    failed += half
                else:
                    failing.append(half)
            if level >= _LEVELS_WITHOUT_ACCEPTANCE and not self._acceptances.since(app_id, started):
                failed += [item for part in failing for item in part]
                failing = []
        if failed:
            await self._retry_later(failed, failure)
        return sent

    def _bulk_throttled(self, first: StoredItem) -> OnThrottled | None:
        """Who hears of a 429 to a bulk track request the shared budget had room for."""
        if self._singles is None or first.endpoint != "track" or not self._budget_applies():
            return None
        return partial(self._singles.bulk_throttled, first.app_id)

    async def _rejected(self, items: list[StoredItem], rejection: HeapRejected) -> "_Sent":
        if rejection.about_the_content and len(items) > 1:
            first, second = await asyncio.gather(*(self._send(half) for half in _halves(items)))
            return first + second
        app_id = items[0].app_id
        if rejection.status in _ABOUT_THE_APP:
            reason = f"Heap answered {rejection.status} for app {app_id}; resume it once fixed"
            await self._store.pause_app(app_id, reason)
            await self._store.release([i.id for i in items], self._clock())
            APP_PAUSES.labels(str(rejection.status)).inc()
            log.warning(
                "paused delivery to an app Heap refuses",
                extra={"app_id": app_id, "heap_status": rejection.status},
            )
            return _Sent()
        reason = f"Heap rejected it: {rejection.status}"
        await self._dead(items, reason, rejection.status, rejection.body)
        return _Sent()

    async def _dead(
        self, items: Sequence[StoredItem], reason: str, status: int | None, body: str
    ) -> None:
        await self._store.mark_dead([i.id for i in items], reason, status, body)
        DEAD_LETTERS.labels(_KIND[items[0].endpoint]).inc(len(items))
        log.warning(
            "dead-lettered stored events",
            extra={"app_id": items[0].app_id, "events": len(items), "reason": reason},
        )

    async def _retry_later(self, items: list[StoredItem], failure: HeapUnavailable) -> None:
        now = self._clock()
        delay = retry_delay(
            max(item.attempts for item in items),
            failure.status,
            failure.retry_after,
            self._settings.initial_backoff,
            self._settings.max_backoff,
        )
        if failure.status == 429:
            await self._store.hold_app(items[0].app_id, now + delay, "Heap answered 429")
        too_old = [i for i in items if now - i.retry_age_from >= self._settings.max_retry_age]
        if too_old:
            reason = f"not delivered within {_hours(self._settings.max_retry_age)}: {failure}"
            await self._dead(too_old, reason, failure.status, "")
        dead = {i.id for i in too_old}
        retrying = [i.id for i in items if i.id not in dead]
        if retrying:
            await self._store.mark_failed(retrying, str(failure), failure.status, "", now + delay)


@dataclass(frozen=True)
class _Sent:
    """What became of requests: items Heap accepted, and whether any request was sent
    and never answered (Heap may have it)."""

    accepted: int = 0
    unanswered: bool = False

    def __add__(self, other: "_Sent") -> "_Sent":
        return _Sent(self.accepted + other.accepted, self.unanswered or other.unanswered)


def _halves(items: list[StoredItem]) -> tuple[list[StoredItem], list[StoredItem]]:
    middle = len(items) // 2
    return items[:middle], items[middle:]


def _rate_limited(app_id: str) -> Counter:
    """Stored events left in the store until Heap's rate limits have room."""
    return RATE_LIMITED_EVENTS.labels(app_id, "stored")


def _request(items: list[StoredItem]) -> tuple[str, bytes]:
    first = items[0]
    if first.endpoint == "identify":
        return first.base_url + IDENTIFY_PATH, first.body
    path, key = _BULK[first.endpoint]
    return first.base_url + path, bulk_body(first.app_id, key, [item.body for item in items])


_BULK = {
    "track": (TRACK_PATH, "events"),
    "user_properties": (ADD_USER_PROPERTIES_PATH, "users"),
    "account_properties": (ADD_ACCOUNT_PROPERTIES_PATH, "accounts"),
}


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds:g} s"
