"""Chooses, per event, how it reaches Heap within Heap's documented limits, per app.

Bulk while the app's bulk budget lasts (the RateLimiter: by default 15,000 events per
minute per app and 1,000 per identity). Past it, a single-event request when the
identity has room under the single-event API's own limit (30 requests per 30 s per
identity per app, counted like the bulk budget: from admission until one window after
Heap's answer) and the app's single path rate (AdaptiveRate) has room. Otherwise the
event waits for either. No single-event request goes while bulk events of the app are
queued or unanswered: were single events to count against the app after all, those
could take the room the bulk request was admitted to. Nor while twice `max_in_flight`
single-event requests of the app wait for an answer: past what the service can send, an
event waits in admission (a stream stops reading) rather than in a queue.

While Heap has lately (within the rate's `max_hold`) answered 429 on either path, the
scheduler assumes Heap counts single events against the app's bulk limit
after all: each single event Heap accepts is then owed to the bulk budget, and later bulk
admissions pay it first, so that the two paths together keep under the bulk limit.
"""

import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from heap_destination.delivery.limits.adaptive_rate import AdaptiveRateSettings, AppRates
from heap_destination.delivery.limits.rate_limiter import RateLimiter, RateLimitSettings

# Single events owed to the bulk budget, per app, when the app's bulk limit is off.
_MAX_OWED = 10_000
# Single-event requests per app that may wait for an answer, in multiples of max_in_flight.
_BACKLOG_IN_FLIGHTS = 2


class Route(Enum):
    BULK = "bulk"
    SINGLE = "single"


@dataclass(frozen=True)
class SingleEventSettings:
    """Heap's single-event track limit (per identity within an app_id) by default."""

    enabled: bool = True
    requests_per_window_per_identity: int = 30
    window_seconds: float = 30.0
    max_in_flight: int = 128
    """Single-event requests out at once per destination, within the service's request
    slots (see RequestSlots)."""
    rate: AdaptiveRateSettings = field(default_factory=AdaptiveRateSettings)


class BudgetScheduler:
    def __init__(
        self,
        bulk: RateLimiter,
        settings: SingleEventSettings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bulk = bulk
        self._settings = settings
        self._clock = clock
        self._requests = RateLimiter(
            RateLimitSettings(
                events_per_window_per_app=None,
                events_per_window_per_identity=settings.requests_per_window_per_identity,
                window_seconds=settings.window_seconds,
            )
        )
        self._backlog = _BACKLOG_IN_FLIGHTS * settings.max_in_flight
        self._rates = AppRates(settings.rate, clock)
        self._owed: dict[str, deque[str]] = {}
        self._bulk_unanswered: Counter[str] = Counter()
        self._singles_unanswered: Counter[str] = Counter()

    def route(self, app_id: str, identity: str) -> Route | None:
        """Admits one more event for `identity`: to a bulk request if the bulk budget has
        room, else to a single-event request if that path has; None when neither has now.

        A single route must end in `single_answered` or `single_given_up`; a bulk one in
        the bulk RateLimiter's `settle`."""
        self._pay_debt(app_id)
        if self._bulk.try_admit(app_id, identity):
            return Route.BULK
        if self._try_single(app_id, identity):
            self._singles_unanswered[app_id] += 1
            return Route.SINGLE
        return None

    def bulk_queued(self, app_id: str) -> None:
        """A bulk event of the app is queued; `bulk_answered` once Heap answered it."""
        self._bulk_unanswered[app_id] += 1

    def bulk_answered(self, app_id: str) -> None:
        _decrement(self._bulk_unanswered, app_id)

    def single_given_up(self, app_id: str, identity: str) -> None:
        """A single route that never became a request."""
        _decrement(self._singles_unanswered, app_id)
        self._requests.settle(app_id, identity, accepted=False)
        self._rates.of(app_id).give_back()

    def single_answered(
        self,
        app_id: str,
        identity: str,
        sent_at: float,
        status: int | None,
        retry_after: float | None = None,
    ) -> None:
        """Heap's last answer to a single-event request sent at `sent_at` (monotonic):
        its HTTP status, or None when it was not reached."""
        _decrement(self._singles_unanswered, app_id)
        rate = self._rates.of(app_id)
        now = self._clock()
        if status == 429:
            self._requests.settle(app_id, identity, accepted=False)
            rate.throttled(sent_at, retry_after, now)
            return
        # Whatever else Heap answered may have counted against the identity's requests.
        self._requests.settle(app_id, identity, accepted=True)
        if status is not None and 200 <= status < 300:
            rate.accepted()
            if rate.throttled_within(self._settings.rate.max_hold, now):
                self._owe(app_id, identity)

    def bulk_throttled(self, app_id: str, sent_at: float, retry_after: float | None) -> None:
        """Heap answered 429 to a bulk request sent at `sent_at`, which the bulk budget
        had room for: single events count against the app, so that path narrows."""
        self._rates.of(app_id).bulk_throttled(sent_at, retry_after, self._clock())

    def single_rate(self, app_id: str) -> float:
        """The app's single path rate now, in requests per second."""
        return self._rates.of(app_id).rate

    def _try_single(self, app_id: str, identity: str) -> bool:
        rate = self._rates.of(app_id)
        now = self._clock()
        backlog = self._singles_unanswered.get(app_id, 0)
        if self._bulk_unanswered.get(app_id) or rate.hold(now) > 0 or backlog >= self._backlog:
            return False
        if not self._requests.try_admit(app_id, identity):
            return False
        if not rate.try_acquire(now):
            self._requests.settle(app_id, identity, accepted=False)
            return False
        return True

    def _owe(self, app_id: str, identity: str) -> None:
        owed = self._owed.setdefault(app_id, deque())
        if len(owed) < (self._bulk.settings.events_per_window_per_app or _MAX_OWED):
            owed.append(identity)

    def _pay_debt(self, app_id: str) -> None:
        owed = self._owed.get(app_id)
        while owed:
            identity = owed[0]
            if not self._bulk.try_admit(app_id, identity):
                owed.rotate(-1)  # this identity's own window may be what is full
                return
            self._bulk.settle(app_id, identity, accepted=True)
            owed.popleft()
        self._owed.pop(app_id, None)


def _decrement(counts: Counter[str], key: str) -> None:
    if counts[key] > 1:
        counts[key] -= 1
    else:
        del counts[key]
