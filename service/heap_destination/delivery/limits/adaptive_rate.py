"""How fast one app's single-event requests may go past its bulk budget.

Heap documents no app-wide limit for its single-event track API, only one per identity,
so the rate is found by asking: it starts low and grows by one request per second for
each request Heap accepts (slow start: it doubles about every second while Heap keeps
accepting). A 429 halves it and holds every single-event request of the app for Heap's
Retry-After; from then on it grows additively, by `increase` requests per second each
second. 429s for requests sent before the last one was answered belong to the same
congestion and do not halve it again. Each further 429 with none accepted in between
makes the hold `hold_growth` times longer (up to `max_hold`), so probing an app whose
single events Heap counts against its bulk limit after all costs fewer and fewer
requests.

A 429 to the app's bulk requests (`bulk_throttled`), which the service's bulk budget had
room for, says that something else uses the app's bulk limit (single events, if Heap
counts them after all): it halves the rate too, and holds the path for `max_hold`.
"""

from collections.abc import Callable
from dataclasses import dataclass

# Seconds of the rate a full bucket holds: a short burst, never less than one request.
_BURST_SECONDS = 0.05
# Hold after a 429 that names no Retry-After.
_DEFAULT_HOLD = 1.0


@dataclass(frozen=True)
class AdaptiveRateSettings:
    initial_rate: float = 50.0
    """Single-event requests per second at first, per app."""
    max_rate: float = 10_000.0
    min_rate: float = 0.1
    increase: float = 20.0
    """Requests per second added each second once a 429 ended the slow start."""
    decrease: float = 0.5
    """Factor applied to the rate on a 429."""
    hold_growth: float = 8.0
    """Factor by which each further 429, with none accepted in between, lengthens the hold."""
    max_hold: float = 600.0
    """Longest hold after repeated 429s: the longest gap between probes of an app whose
    single events Heap counts against its bulk limit."""


class AdaptiveRate:
    """One app's single-event path: a token bucket whose rate follows Heap's answers; `now`
    is a monotonic time."""

    def __init__(self, settings: AdaptiveRateSettings, now: float) -> None:
        self._settings = settings
        self.rate = settings.initial_rate
        self.slow_start = True
        self._tokens = 1.0
        self._updated = now
        self._held_until = now
        self._strikes = 0
        self._last_throttle = float("-inf")

    def hold(self, now: float) -> float:
        """Seconds until the next request may go, were tokens there (0: not held)."""
        return max(0.0, self._held_until - now)

    def throttled_within(self, seconds: float, now: float) -> bool:
        """Whether Heap answered 429 to this path within the last `seconds`."""
        return now - self._last_throttle < seconds

    def try_acquire(self, now: float) -> bool:
        """Takes the room for one request if the rate has it now."""
        self._refill(now)
        if now < self._held_until or self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True

    def give_back(self) -> None:
        """Returns room taken for a request that was never sent."""
        self._tokens += 1.0

    def accepted(self) -> None:
        self._strikes = 0
        if self.slow_start:
            step = 1.0
        else:
            step = self._settings.increase / max(self.rate, self._settings.min_rate)
        self.rate = min(self._settings.max_rate, self.rate + step)

    def throttled(self, sent_at: float, retry_after: float | None, now: float) -> None:
        """Heap answered 429 to a single-event request sent at `sent_at`."""
        self._throttled(sent_at, _DEFAULT_HOLD if retry_after is None else retry_after, now)

    def bulk_throttled(self, sent_at: float, retry_after: float | None, now: float) -> None:
        """Heap answered 429 to a bulk request of the app sent at `sent_at`, which the
        bulk budget had room for: the path is held for at least `max_hold`."""
        wait = _DEFAULT_HOLD if retry_after is None else retry_after
        self._throttled(sent_at, max(wait, self._settings.max_hold), now)

    def _throttled(self, sent_at: float, wait: float, now: float) -> None:
        if sent_at >= self._last_throttle:
            self._strikes += 1
            self._last_throttle = now
            self.slow_start = False
            self.rate = max(self._settings.min_rate, self.rate * self._settings.decrease)
            self._tokens = 0.0
            backoff = wait * self._settings.hold_growth ** (self._strikes - 1)
            wait = max(wait, min(self._settings.max_hold, backoff))
        self._held_until = max(self._held_until, now + wait)

    def _refill(self, now: float) -> None:
        capacity = max(1.0, self.rate * _BURST_SECONDS)
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(capacity, self._tokens + elapsed * self.rate)
        self._updated = now


# Apps whose rate AppRates keeps; past it, those neither held nor throttled lately go.
_MAX_APPS = 10_000


class AppRates:
    """Each app's AdaptiveRate, made on first use; at most _MAX_APPS are kept, past
    which apps neither held nor throttled within `max_hold` are forgotten (they start
    over, as a new app would)."""

    def __init__(self, settings: AdaptiveRateSettings, clock: Callable[[], float]) -> None:
        self._settings = settings
        self._clock = clock
        self._rates: dict[str, AdaptiveRate] = {}

    def of(self, app_id: str) -> AdaptiveRate:
        rate = self._rates.get(app_id)
        if rate is None:
            if len(self._rates) >= _MAX_APPS:
                self._forget_quiet_apps()
            rate = self._rates[app_id] = AdaptiveRate(self._settings, self._clock())
        return rate

    def _forget_quiet_apps(self) -> None:
        now = self._clock()
        hold = self._settings.max_hold
        self._rates = {
            app_id: rate
            for app_id, rate in self._rates.items()
            if rate.throttled_within(hold, now) or rate.hold(now) > 0
        }
