"""The delivery engine: per destination, Heap's bulk endpoints, rate limits, draining.

It serves unary calls and streams alike: callers submit prepared calls and get futures
that resolve once Heap accepted everything the call carried. Destinations with work
are bounded (`max_destinations`); idle ones are dropped.

With the budget scheduler on, a destination's track events go in bulk when admitted to
the bulk budget, and as single-event requests when routed past it. Every 429 reaches the
scheduler (HeapClient.post's on_throttled): a 429 to a bulk request, when the bulk budget
had room, means something else uses the app's budget, so it narrows the single path as a
429 to a single-event request does. A single-event request gets one attempt: an event
Heap did not take that way (429, 5xx, unreachable) waits for the bulk budget and goes in
bulk, which retries as usual; Heap rejecting it (400) fails it alone. Either way the
event's Answer is told once Heap accepted it, whichever path carried it.
"""

import asyncio
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from heap_destination.delivery.batcher import BulkBatcher
from heap_destination.delivery.errors import (
    HeapRejected,
    HeapUnavailable,
    Overloaded,
    RateLimited,
    ShuttingDown,
)
from heap_destination.delivery.heap.bodies import (
    ADD_ACCOUNT_PROPERTIES_PATH,
    ADD_USER_PROPERTIES_PATH,
    IDENTIFY_PATH,
    TRACK_PATH,
    bulk_account_properties_body,
    bulk_track_body,
    bulk_user_properties_body,
    identify_body,
    single_track_body,
)
from heap_destination.delivery.heap.client import HeapClient
from heap_destination.delivery.limits.budget_scheduler import (
    BudgetScheduler,
    Route,
    SingleEventSettings,
)
from heap_destination.delivery.limits.rate_limiter import RateLimiter, RateLimitSettings
from heap_destination.delivery.outcomes import Answer, all_of, future_answer, shared_answer, stopped
from heap_destination.delivery.request_per_item import RequestPerItem
from heap_destination.domain.account import PreparedAccount
from heap_destination.domain.destination import Destination
from heap_destination.domain.heap_calls import (
    HeapAccountProperties,
    HeapEvent,
    HeapIdentify,
    HeapUserProperties,
)
from heap_destination.domain.identify import PreparedIdentify
from heap_destination.domain.json_text import encode
from heap_destination.domain.track import PreparedTrack
from heap_destination.metrics import BULK_REQUEST_SIZE, rate_limit_waited

# Time kept back from a caller's deadline so the answer still reaches it in time.
_ANSWER_MARGIN = 0.05
# Seconds between sweeps that drop idle destinations (also swept when at the bound).
_SWEEP_INTERVAL = 60.0
_BOUND_SWEEP_INTERVAL = 0.05
# Suggested wait for an event turned away because the destinations are at their bound.
_OVERLOADED_RETRY_AFTER = 1.0
# Seconds between looks at both paths' budgets while an event waits for either.
_SCHEDULER_POLL = 0.01
# Seconds between looks at whether the service drains, while a stream's event waits.
_STREAM_POLL = 1.0


@dataclass(frozen=True)
class EngineSettings:
    max_batch: int = 1000
    """Events (or users) per bulk request; Heap takes at most 1000."""
    linger: float = 0.01
    """Seconds a bulk request waits for more events before it goes out."""
    max_in_flight_requests: int = 8
    """Requests outstanding at once, per destination and endpoint."""
    max_requests: int = 16
    """Requests to Heap outstanding at once in all, shared fairly (see RequestSlots)."""
    max_destinations: int = 1000
    """Destinations (app_id and base URL) with events queued or in flight at once."""
    keep_unused_destination: float = 1.0
    """Seconds an idle destination is kept after its last event, so that a steady caller
    keeps its place while a flood of new destinations meets the bound."""
    rate_limits: RateLimitSettings = field(default_factory=RateLimitSettings)
    single_events: SingleEventSettings = field(
        default_factory=lambda: SingleEventSettings(enabled=False)
    )
    """Past an app's bulk budget, single-event requests for identities with room (see
    BudgetScheduler); only while the bulk rate limits are on. Off unless set here: the
    server turns it on by default (--single-event-requests)."""


class _DestinationQueues:
    """A destination's queues, one per Heap endpoint. With the budget scheduler on
    (`scheduler`), its track events go in bulk or as single-event requests (see the module
    docstring); `limiter` is the bulk budget, given back as Heap answers."""

    def __init__(
        self,
        destination: Destination,
        client: HeapClient,
        settings: EngineSettings,
        limiter: RateLimiter | None,
        scheduler: BudgetScheduler | None,
    ):
        app_id, base_url = destination.app_id, destination.base_url
        self._app_id = app_id
        self._limiter = limiter
        self._scheduler = scheduler
        throttled = None if scheduler is None else partial(scheduler.bulk_throttled, app_id)

        async def send_events(events: list[HeapEvent], deadline: float, caller: str) -> None:
            BULK_REQUEST_SIZE.labels(TRACK_PATH).observe(len(events))
            body = encode(bulk_track_body(app_id, events))
            await client.post(
                base_url + TRACK_PATH,
                body,
                deadline,
                caller,
                on_throttled=throttled,
                app_id=app_id,
                events=len(events),
            )

        async def send_event(event: HeapEvent, deadline: float, caller: str) -> None:
            assert scheduler is not None
            identity = event.identity
            body = encode(single_track_body(app_id, event))
            sent_at = time.monotonic()
            try:
                status = await client.post(
                    base_url + TRACK_PATH, body, deadline, caller, max_attempts=1, app_id=app_id
                )
            except HeapUnavailable as failure:
                scheduler.single_answered(
                    app_id, identity, sent_at, failure.status, failure.retry_after
                )
                raise
            except HeapRejected as rejection:
                scheduler.single_answered(app_id, identity, sent_at, rejection.status)
                raise
            except BaseException:
                scheduler.single_given_up(app_id, identity)
                raise
            scheduler.single_answered(app_id, identity, sent_at, status)

        async def send_users(users: list[HeapUserProperties], deadline: float, caller: str) -> None:
            BULK_REQUEST_SIZE.labels(ADD_USER_PROPERTIES_PATH).observe(len(users))
            body = encode(bulk_user_properties_body(app_id, users))
            await client.post(
                base_url + ADD_USER_PROPERTIES_PATH,
                body,
                deadline,
                caller,
                app_id=app_id,
                events=len(users),
            )

        async def send_accounts(
            accounts: list[HeapAccountProperties], deadline: float, caller: str
        ) -> None:
            BULK_REQUEST_SIZE.labels(ADD_ACCOUNT_PROPERTIES_PATH).observe(len(accounts))
            body = encode(bulk_account_properties_body(app_id, accounts))
            await client.post(
                base_url + ADD_ACCOUNT_PROPERTIES_PATH,
                body,
                deadline,
                caller,
                app_id=app_id,
                events=len(accounts),
            )

        async def send_identify(identify: HeapIdentify, deadline: float, caller: str) -> None:
            body = encode(identify_body(app_id, identify))
            await client.post(base_url + IDENTIFY_PATH, body, deadline, caller, app_id=app_id)

        self.events = BulkBatcher(
            send_events, settings.max_batch, settings.linger, settings.max_in_flight_requests
        )
        self.single_events = RequestPerItem(send_event, settings.single_events.max_in_flight)
        """Track events routed past the bulk budget, one per request (scheduler on)."""
        self.users = BulkBatcher(
            send_users, settings.max_batch, settings.linger, settings.max_in_flight_requests
        )
        self.accounts = BulkBatcher(
            send_accounts, settings.max_batch, settings.linger, settings.max_in_flight_requests
        )
        self.identifies = RequestPerItem(send_identify, settings.max_in_flight_requests)
        self._to_bulk: set[asyncio.Task[None]] = set()
        """Events a single-event request did not deliver, waiting for the bulk budget."""
        self._stopping = False
        self.last_used = time.monotonic()

    def add_event(
        self,
        event: HeapEvent,
        deadline: float,
        caller: str,
        answer: Answer,
        *,
        from_stream: bool = False,
    ) -> None:
        """Queues an event admitted to the bulk budget (if any), which it gives back once
        Heap answered."""
        limiter = self._limiter
        if limiter is not None:
            scheduler = self._scheduler
            if scheduler is not None:
                scheduler.bulk_queued(self._app_id)
            answer = partial(
                _settle_admitted, limiter, scheduler, self._app_id, event.identity, answer
            )
        self.events.add(event, deadline, caller, answer, from_stream=from_stream)

    def add_single_event(
        self, event: HeapEvent, deadline: float, caller: str, answer: Answer
    ) -> None:
        """Sends an event the scheduler routed past the bulk budget."""
        sent = partial(self._single_event_sent, event, deadline, caller, answer)
        self.single_events.add(event, deadline, caller, sent)

    def _single_event_sent(
        self,
        event: HeapEvent,
        deadline: float,
        caller: str,
        answer: Answer,
        error: BaseException | None,
    ) -> None:
        if isinstance(error, HeapUnavailable) and not self._stopping:
            task = asyncio.create_task(self._in_bulk(event, deadline, caller, answer, error))
            self._to_bulk.add(task)
            task.add_done_callback(self._to_bulk.discard)
        else:
            answer(error)

    async def _in_bulk(
        self,
        event: HeapEvent,
        deadline: float,
        caller: str,
        answer: Answer,
        failure: HeapUnavailable,
    ) -> None:
        """Waits for the bulk budget until `deadline`, then sends the event in bulk."""
        assert self._limiter is not None
        try:
            async with asyncio.timeout(deadline - time.monotonic()):
                await self._limiter.admit(self._app_id, event.identity)
        except TimeoutError:
            answer(failure)  # what kept it from Heap is Heap's answer, not the wait
            return
        except asyncio.CancelledError:
            answer(stopped())
            raise
        self.add_event(event, deadline, caller, answer)

    def unused_since(self, moment: float) -> bool:
        """Idle, and given nothing since `moment`."""
        idle = (
            self.events.idle
            and self.single_events.idle
            and not self._to_bulk
            and self.users.idle
            and self.accounts.idle
            and self.identifies.idle
        )
        return idle and self.last_used <= moment

    def flush(self) -> None:
        self.events.flush()
        self.users.flush()
        self.accounts.flush()

    def tasks(self) -> set[asyncio.Task[None]]:
        return (
            self.events.tasks
            | self.single_events.tasks
            | self._to_bulk
            | self.users.tasks
            | self.accounts.tasks
            | self.identifies.tasks
        )

    def cancel(self) -> None:
        """Stops sending; every item not yet answered fails with HeapUnavailable."""
        self._stopping = True
        self.events.cancel()
        self.single_events.cancel()
        for task in list(self._to_bulk):
            task.cancel()
        self.users.cancel()
        self.accounts.cancel()
        self.identifies.cancel()


class DeliveryEngine:
    def __init__(self, client: HeapClient, settings: EngineSettings) -> None:
        self._client = client
        self._settings = settings
        self._limiter = RateLimiter(settings.rate_limits) if settings.rate_limits.enabled else None
        self._scheduler: BudgetScheduler | None = None
        if self._limiter is not None and settings.single_events.enabled:
            self._scheduler = BudgetScheduler(self._limiter, settings.single_events)
        self._queues: dict[tuple[str, str], _DestinationQueues] = {}
        self._last_sweep = time.monotonic()
        self._futile_sweep_until = 0.0
        self.draining = False

    def deadline(self, time_remaining: float | None) -> float:
        """The monotonic time by which a call that has `time_remaining` must be answered."""
        budget = self._client.policy.delivery_timeout
        if time_remaining is not None:
            budget = min(budget, time_remaining - min(_ANSWER_MARGIN, time_remaining / 10))
        return time.monotonic() + budget

    async def submit_track(
        self,
        destination: Destination,
        track: PreparedTrack,
        deadline: float,
        caller: str = "",
        *,
        from_stream: bool = False,
    ) -> asyncio.Future[Any]:
        """Admits the event under Heap's rate limits, then queues it (and its traits);
        the future resolves once Heap accepted them.

        A unary call (`deadline` is its own) gets RateLimited when admission would take
        past it. A stream waits as long as it takes: it reads nothing meanwhile, so its
        producer is slowed and no event fails for waiting; it gets ShuttingDown once the
        service drains. A stream's events also keep its batches open (see BulkBatcher).
        An event routed to a single-event request goes as one (see the module docstring).
        Raises Overloaded when `max_destinations` other destinations have work."""
        identity = track.event.identity
        route = await self._admit(destination.app_id, identity, deadline, from_stream=from_stream)
        delivered, answer = future_answer()
        self._queue_track(
            destination, track, route, deadline, caller, answer, from_stream=from_stream
        )
        return delivered

    def submit_track_now(
        self,
        destination: Destination,
        track: PreparedTrack,
        deadline: float,
        caller: str,
        answer: Answer,
    ) -> bool:
        """submit_track for a stream's event that fits a path's budget now: queues it and
        tells `answer` its outcome, without a future. False, with nothing queued, when it
        would have to wait: submit_track then waits for it.

        Raises Overloaded when `max_destinations` other destinations have work."""
        route = self._route_now(destination.app_id, track.event.identity)
        if route is None:
            return False
        self._queue_track(destination, track, route, deadline, caller, answer, from_stream=True)
        return True

    def _queue_track(
        self,
        destination: Destination,
        track: PreparedTrack,
        route: Route,
        deadline: float,
        caller: str,
        answer: Answer,
        *,
        from_stream: bool,
    ) -> None:
        """Queues an admitted event (and its traits) on `route`."""
        app_id, identity = destination.app_id, track.event.identity
        try:
            queues = self._queues_for(destination)
        except Overloaded:
            if route is Route.SINGLE and self._scheduler is not None:
                self._scheduler.single_given_up(app_id, identity)
            elif self._limiter is not None:
                self._limiter.settle(app_id, identity, accepted=False)
            raise
        users = track.user_properties
        if users is not None:
            answer = shared_answer(answer, 2)
        if route is Route.SINGLE:
            queues.add_single_event(track.event, deadline, caller, answer)
        else:
            queues.add_event(track.event, deadline, caller, answer, from_stream=from_stream)
        if users is not None:
            queues.users.add(users, deadline, caller, answer, from_stream=from_stream)

    async def _admit(
        self, app_id: str, identity: str, deadline: float, *, from_stream: bool
    ) -> Route:
        """Waits until one more event for `identity` fits a path's budget: bulk, or past
        it a single-event request (with the scheduler on). A unary call waits until
        `deadline`, a stream's event until the service drains."""
        # Most events fit at once: admitting them without a wait keeps the caller from
        # yielding per event, which would let partial batches go out between events.
        route = self._route_now(app_id, identity)
        if route is not None:
            return route
        started = time.monotonic()
        try:
            return await self._admit_later(app_id, identity, deadline, from_stream=from_stream)
        finally:
            rate_limit_waited(app_id, time.monotonic() - started)

    async def _admit_later(
        self, app_id: str, identity: str, deadline: float, *, from_stream: bool
    ) -> Route:
        while True:
            wait_until = time.monotonic() + _STREAM_POLL if from_stream else deadline
            try:
                return await asyncio.wait_for(
                    self._route_later(app_id, identity), wait_until - time.monotonic()
                )
            except TimeoutError:
                if not from_stream:
                    raise RateLimited(self._settings.rate_limits.window_seconds) from None
                if self.draining:
                    raise ShuttingDown() from None

    def _route_now(self, app_id: str, identity: str) -> Route | None:
        if self._scheduler is not None:
            return self._scheduler.route(app_id, identity)
        if self._limiter is None or self._limiter.try_admit(app_id, identity):
            return Route.BULK
        return None

    async def _route_later(self, app_id: str, identity: str) -> Route:
        if self._scheduler is None and self._limiter is not None:
            await self._limiter.admit(app_id, identity)
            return Route.BULK
        while (route := self._route_now(app_id, identity)) is None:
            await asyncio.sleep(_SCHEDULER_POLL)
        return route

    async def submit_identify(
        self,
        destination: Destination,
        identify: PreparedIdentify,
        deadline: float,
        caller: str = "",
        *,
        from_stream: bool = False,
    ) -> asyncio.Future[Any]:
        """Queues an identify; resolves once Heap accepted its user properties and binding.
        Heap documents no rate limit for them, so none is applied.

        Raises Overloaded when `max_destinations` other destinations have work."""
        queues = self._queues_for(destination)
        futures: list[asyncio.Future[Any]] = []
        if identify.user_properties is not None:
            users = queues.users.submit(
                identify.user_properties, deadline, caller, from_stream=from_stream
            )
            futures.append(users)
        if identify.identify is not None:
            futures.append(queues.identifies.submit(identify.identify, deadline, caller))
        return all_of(futures)

    async def submit_account(
        self,
        destination: Destination,
        account: PreparedAccount,
        deadline: float,
        caller: str = "",
        *,
        from_stream: bool = False,
    ) -> asyncio.Future[Any]:
        """Queues an account update; resolves once Heap accepted it. Heap documents no rate
        limit for account properties, so none is applied.

        Raises Overloaded when `max_destinations` other destinations have work."""
        queues = self._queues_for(destination)
        return queues.accounts.submit(account.account, deadline, caller, from_stream=from_stream)

    async def drain(self, grace: float) -> None:
        """Sends everything queued now and waits up to `grace` seconds for Heap's answers;
        whatever is still unanswered then fails as unavailable."""
        self.draining = True
        queues = list(self._queues.values())
        for destination in queues:
            destination.flush()
        outstanding = {t for q in queues for t in q.tasks()}
        if outstanding:
            await asyncio.wait(outstanding, timeout=grace)
        for destination in queues:
            destination.cancel()

    def _sweep(self, now: float) -> None:
        """Drops the destinations with nothing to do that were not used lately."""
        keep_after = now - self._settings.keep_unused_destination
        before = len(self._queues)
        self._queues = {k: q for k, q in self._queues.items() if not q.unused_since(keep_after)}
        self._last_sweep = now
        if len(self._queues) == before:
            self._futile_sweep_until = now + _BOUND_SWEEP_INTERVAL

    def _queues_for(self, destination: Destination) -> _DestinationQueues:
        key = (destination.base_url, destination.app_id)
        queues = self._queues.get(key)
        if queues is not None:
            queues.last_used = time.monotonic()
        else:
            now = time.monotonic()
            at_bound = len(self._queues) >= self._settings.max_destinations
            # A sweep looks at every destination: at the bound, after one that freed nothing,
            # the next waits _BOUND_SWEEP_INTERVAL, so a flood of new ones does not pay it
            # per event.
            if now - self._last_sweep >= _SWEEP_INTERVAL or (
                at_bound and now >= self._futile_sweep_until
            ):
                self._sweep(now)
            if len(self._queues) >= self._settings.max_destinations:
                raise Overloaded(
                    _OVERLOADED_RETRY_AFTER,
                    f"the service is delivering to {len(self._queues)} destinations, its bound",
                )
            queues = self._queues[key] = _DestinationQueues(
                destination, self._client, self._settings, self._limiter, self._scheduler
            )
        return queues


def _settle_admitted(
    limiter: RateLimiter,
    scheduler: BudgetScheduler | None,
    app_id: str,
    identity: str,
    answer: Answer,
    error: BaseException | None,
) -> None:
    """Gives an event's admission back to the rate limiter (and its place in the bulk
    queue to the scheduler) as Heap answered it."""
    if scheduler is not None:
        scheduler.bulk_answered(app_id)
    limiter.settle(app_id, identity, accepted=error is None)
    answer(error)
