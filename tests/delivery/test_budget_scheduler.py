"""The budget scheduler's choices and its single path's AIMD rate, on a fake clock."""

import pytest

from heap_destination.delivery.limits.adaptive_rate import AdaptiveRate, AdaptiveRateSettings
from heap_destination.delivery.limits.budget_scheduler import (
    BudgetScheduler,
    Route,
    SingleEventSettings,
)
from heap_destination.delivery.limits.rate_limiter import RateLimiter, RateLimitSettings

APP = "1234567890"
RATE = AdaptiveRateSettings(
    initial_rate=10.0, max_rate=1_000.0, min_rate=0.5, increase=5.0, hold_growth=8.0, max_hold=100.0
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _scheduler(
    clock: Clock, bulk_per_app: int = 3, requests_per_identity: int = 2
) -> tuple[BudgetScheduler, RateLimiter]:
    bulk = RateLimiter(RateLimitSettings(bulk_per_app, 1_000, 60.0))
    settings = SingleEventSettings(
        requests_per_window_per_identity=requests_per_identity, window_seconds=60.0, rate=RATE
    )
    return BudgetScheduler(bulk, settings, clock), bulk


def _route_all(scheduler: BudgetScheduler, identities: list[str]) -> list[Route | None]:
    return [scheduler.route(APP, identity) for identity in identities]


# The single path's rate.


def test_the_rate_grows_by_one_per_accepted_request_until_the_first_429() -> None:
    rate = AdaptiveRate(RATE, now=0.0)
    for _ in range(5):
        rate.accepted()
    assert rate.rate == 15.0


def test_a_429_halves_the_rate_and_holds_the_path_for_retry_after() -> None:
    rate = AdaptiveRate(RATE, now=0.0)

    rate.throttled(sent_at=0.0, retry_after=3.0, now=0.5)

    assert rate.rate == 5.0
    assert rate.hold(0.5) == pytest.approx(3.0)
    assert not rate.try_acquire(3.4)
    assert rate.try_acquire(3.6)


def test_after_a_429_the_rate_grows_additively() -> None:
    rate = AdaptiveRate(RATE, now=0.0)
    rate.throttled(sent_at=0.0, retry_after=1.0, now=0.0)

    for _ in range(5):  # a second of requests at 5 per second
        rate.accepted()

    # About `increase` (5 requests/s) more per second of accepted requests.
    assert 8.0 <= rate.rate <= 10.0


def test_429s_for_requests_sent_before_the_last_one_do_not_halve_the_rate_again() -> None:
    rate = AdaptiveRate(RATE, now=0.0)
    rate.throttled(sent_at=0.0, retry_after=1.0, now=0.2)

    rate.throttled(sent_at=0.1, retry_after=2.0, now=0.3)

    assert rate.rate == 5.0
    assert rate.hold(0.3) == pytest.approx(2.0)  # its Retry-After is still honoured


def test_repeated_429s_lengthen_the_hold_up_to_max_hold_and_an_accepted_request_resets_it() -> None:
    rate = AdaptiveRate(RATE, now=0.0)
    holds = []
    now = 0.0
    for _ in range(4):
        rate.throttled(sent_at=now, retry_after=1.0, now=now)
        holds.append(rate.hold(now))
        now += holds[-1]

    assert holds == [1.0, 8.0, 64.0, 100.0]
    assert rate.rate == RATE.initial_rate / 16
    rate.throttled(sent_at=now, retry_after=1.0, now=now)
    assert rate.rate == RATE.min_rate
    now += rate.hold(now)

    rate.accepted()
    rate.throttled(sent_at=now, retry_after=1.0, now=now)
    assert rate.hold(now) == 1.0


def test_a_429_to_a_bulk_request_holds_the_single_path_for_max_hold() -> None:
    rate = AdaptiveRate(RATE, now=0.0)

    rate.bulk_throttled(sent_at=0.0, retry_after=1.0, now=0.0)

    assert rate.hold(0.0) == RATE.max_hold


def test_the_bucket_lets_through_no_more_than_the_rate() -> None:
    rate = AdaptiveRate(RATE, now=0.0)
    granted = sum(rate.try_acquire(i / 100) for i in range(200))  # 2 s, polled every 10 ms
    assert 19 <= granted <= 21


# The scheduler.


def test_events_go_in_bulk_while_the_bulk_budget_lasts_then_as_single_events() -> None:
    clock = Clock()
    scheduler, _ = _scheduler(clock)

    routes = _route_all(scheduler, ["a", "b", "c", "d"])

    assert routes == [Route.BULK, Route.BULK, Route.BULK, Route.SINGLE]


def test_an_identity_without_room_under_the_single_event_limit_waits() -> None:
    clock = Clock()
    scheduler, _ = _scheduler(clock, bulk_per_app=1, requests_per_identity=2)
    assert scheduler.route(APP, "a") is Route.BULK
    scheduler.bulk_answered(APP)  # (not queued through the engine here)

    routes = []
    for _ in range(3):
        clock.now += 1.0  # the rate has room again
        routes.append(scheduler.route(APP, "a"))

    assert routes == [Route.SINGLE, Route.SINGLE, None]
    clock.now += 1.0
    assert scheduler.route(APP, "b") is Route.SINGLE


def test_no_single_event_goes_while_bulk_events_of_the_app_are_unanswered() -> None:
    clock = Clock()
    scheduler, _ = _scheduler(clock, bulk_per_app=1)
    assert scheduler.route(APP, "a") is Route.BULK
    scheduler.bulk_queued(APP)

    assert scheduler.route(APP, "b") is None

    scheduler.bulk_answered(APP)
    assert scheduler.route(APP, "b") is Route.SINGLE


def test_a_429_to_a_single_event_holds_the_path_for_retry_after() -> None:
    clock = Clock()
    scheduler, _ = _scheduler(clock, bulk_per_app=1)
    scheduler.route(APP, "a")
    assert scheduler.route(APP, "b") is Route.SINGLE

    scheduler.single_answered(APP, "b", sent_at=clock.now, status=429, retry_after=5.0)

    assert scheduler.single_rate(APP) == RATE.initial_rate / 2
    clock.now += 4.9
    assert scheduler.route(APP, "b") is None
    clock.now += 0.2
    assert scheduler.route(APP, "b") is Route.SINGLE


def test_a_429_to_a_bulk_request_narrows_the_single_path() -> None:
    clock = Clock()
    scheduler, _ = _scheduler(clock, bulk_per_app=1)
    scheduler.route(APP, "a")

    scheduler.bulk_throttled(APP, sent_at=clock.now, retry_after=1.0)

    clock.now += RATE.max_hold - 1
    assert scheduler.route(APP, "b") is None
    clock.now += 2
    assert scheduler.route(APP, "b") is Route.SINGLE


def test_single_events_accepted_after_a_429_are_paid_from_the_bulk_budget() -> None:
    """After a 429, Heap may be counting single events against the app's bulk limit: the
    ones it accepts then take room from the bulk budget."""
    clock = Clock()
    bulk = RateLimiter(RateLimitSettings(2, 1_000, 60.0))
    settings = SingleEventSettings(requests_per_window_per_identity=30, rate=RATE)
    scheduler = BudgetScheduler(bulk, settings, clock)
    assert scheduler.route(APP, "a") is Route.BULK
    scheduler.single_answered(APP, "x", sent_at=clock.now, status=429, retry_after=1.0)
    bulk.settle(APP, "a", accepted=False)  # the bulk budget has room for 2 again

    clock.now += 2.0
    assert scheduler.route(APP, "b") is Route.BULK
    bulk.settle(APP, "b", accepted=False)
    scheduler.single_answered(APP, "s", sent_at=clock.now, status=200)

    assert _route_all(scheduler, ["c", "d"]) == [Route.BULK, Route.SINGLE]


def test_a_single_route_never_sent_gives_its_room_back() -> None:
    clock = Clock()
    scheduler, _ = _scheduler(clock, bulk_per_app=1, requests_per_identity=1)
    scheduler.route(APP, "a")
    assert scheduler.route(APP, "b") is Route.SINGLE

    scheduler.single_given_up(APP, "b")

    assert scheduler.route(APP, "b") is Route.SINGLE
