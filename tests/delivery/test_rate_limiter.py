import asyncio
import time
from types import SimpleNamespace

import pytest

from heap_destination.delivery.limits import rate_limiter
from heap_destination.delivery.limits.rate_limiter import RateLimiter, RateLimitSettings

APP = "1234567890"
OTHER_APP = "2222222222"
WINDOW = 60.0


class FakeClock:
    """Stands in for time.monotonic and asyncio.sleep inside rate_limiter only: sleeping
    advances the clock at once, so waits are exact and the tests take no real time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(rate_limiter, "time", SimpleNamespace(monotonic=fake.monotonic))
    monkeypatch.setattr(rate_limiter, "asyncio", SimpleNamespace(sleep=fake.sleep))
    return fake


def limiter(per_app: int | None = None, per_identity: int | None = None) -> RateLimiter:
    return RateLimiter(
        RateLimitSettings(
            events_per_window_per_app=per_app,
            events_per_window_per_identity=per_identity,
            window_seconds=WINDOW,
        )
    )


async def still_waiting(task: asyncio.Task[None], loop_turns: int = 20) -> bool:
    for _ in range(loop_turns):
        await asyncio.sleep(0)
    return not task.done()


def test_defaults_are_heaps_documented_limits() -> None:
    settings = RateLimitSettings()
    assert settings.events_per_window_per_app == 15_000
    assert settings.events_per_window_per_identity == 1_000
    assert settings.window_seconds == 60.0
    assert settings.enabled
    assert not RateLimitSettings(None, None).enabled


async def test_admits_up_to_the_limit_at_once(clock: FakeClock) -> None:
    limits = limiter(per_app=3)
    for _ in range(3):
        await limits.admit(APP, "user-1")
    assert clock.sleeps == []


async def test_the_next_event_waits_until_one_window_after_heaps_answer(clock: FakeClock) -> None:
    limits = limiter(per_app=3)
    for _ in range(3):
        await limits.admit(APP, "user-1")
    clock.now += 5
    answered_at = clock.now
    for _ in range(3):
        limits.settle(APP, "user-1", accepted=True)

    await limits.admit(APP, "user-1")

    assert clock.now == answered_at + WINDOW
    assert clock.sleeps == [WINDOW]


async def test_room_frees_one_window_after_each_answer_not_all_at_once(clock: FakeClock) -> None:
    limits = limiter(per_app=2)
    await limits.admit(APP, "a")
    await limits.admit(APP, "b")
    first_answer = clock.now
    limits.settle(APP, "a", accepted=True)
    clock.now += 10
    limits.settle(APP, "b", accepted=True)

    await limits.admit(APP, "c")
    assert clock.now == first_answer + WINDOW
    await limits.admit(APP, "d")
    assert clock.now == first_answer + 10 + WINDOW


async def test_events_still_waiting_for_heap_count_against_the_limit(clock: FakeClock) -> None:
    limits = limiter(per_app=2)
    await limits.admit(APP, "a")
    await limits.admit(APP, "b")
    next_event = asyncio.create_task(limits.admit(APP, "c"))

    assert await still_waiting(next_event)
    clock.now += 30  # Heap takes 30 s to answer; the waiting event is still not admitted
    assert await still_waiting(next_event)

    answered_at = clock.now
    limits.settle(APP, "a", accepted=True)
    await next_event
    assert clock.now == pytest.approx(answered_at + WINDOW, abs=0.05)
    assert clock.now >= answered_at + WINDOW


async def test_an_event_heap_did_not_accept_frees_its_room_at_once(clock: FakeClock) -> None:
    limits = limiter(per_app=2)
    await limits.admit(APP, "a")
    await limits.admit(APP, "b")
    next_event = asyncio.create_task(limits.admit(APP, "c"))
    assert await still_waiting(next_event)

    given_up_at = clock.now
    limits.settle(APP, "a", accepted=False)
    await next_event

    assert clock.now - given_up_at <= 0.05  # at most one poll of the fake clock
    assert max(clock.sleeps) < 1


async def test_per_identity_limit_holds_one_identity_back_but_not_others(clock: FakeClock) -> None:
    limits = limiter(per_identity=2)
    await limits.admit(APP, "user-1")
    await limits.admit(APP, "user-1")

    await limits.admit(APP, "user-2")
    await limits.admit(OTHER_APP, "user-1")
    assert clock.sleeps == []

    third = asyncio.create_task(limits.admit(APP, "user-1"))
    assert await still_waiting(third)
    limits.settle(APP, "user-1", accepted=False)
    await third


async def test_per_app_limit_counts_every_identity_of_that_app_only(clock: FakeClock) -> None:
    limits = limiter(per_app=3, per_identity=1000)
    for identity in ("u1", "u2", "u3"):
        await limits.admit(APP, identity)
    await limits.admit(OTHER_APP, "u1")
    assert clock.sleeps == []

    fourth = asyncio.create_task(limits.admit(APP, "u4"))
    assert await still_waiting(fourth)
    limits.settle(APP, "u2", accepted=True)
    settled_at = clock.now
    await fourth
    assert clock.now >= settled_at + WINDOW


async def test_an_event_waits_for_the_stricter_of_both_limits(clock: FakeClock) -> None:
    limits = limiter(per_app=100, per_identity=1)
    await limits.admit(APP, "user-1")
    limits.settle(APP, "user-1", accepted=True)
    settled_at = clock.now

    await limits.admit(APP, "user-1")

    assert clock.now == settled_at + WINDOW


async def test_a_waiting_event_does_not_take_room_it_was_not_admitted_to(clock: FakeClock) -> None:
    limits = limiter(per_app=1)
    await limits.admit(APP, "a")
    waiter = asyncio.create_task(limits.admit(APP, "b"))
    assert await still_waiting(waiter)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter

    limits.settle(APP, "a", accepted=False)
    await limits.admit(APP, "c")


async def test_real_clock_short_window() -> None:
    window = 0.2
    limits = RateLimiter(RateLimitSettings(2, None, window_seconds=window))
    await limits.admit(APP, "a")
    await limits.admit(APP, "b")
    limits.settle(APP, "a", accepted=True)
    limits.settle(APP, "b", accepted=True)
    answered_at = time.monotonic()

    await limits.admit(APP, "c")

    assert time.monotonic() - answered_at >= window


def test_try_admit_admits_what_fits_now_and_refuses_the_rest_without_counting_it(
    clock: FakeClock,
) -> None:
    limits = limiter(per_app=2)

    assert [limits.try_admit(APP, "u1") for _ in range(3)] == [True, True, False]

    limits.settle(APP, "u1", accepted=False)
    assert limits.try_admit(APP, "u2")
    assert clock.sleeps == []
