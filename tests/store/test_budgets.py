"""The shared budget ledger, on both engines: limits kept across store objects (as
across processes) on one database."""

import asyncio

import pytest

from heap_destination.store import Budget, Store
from tests.store.conftest import OpenStore
from tests.store.helpers import APP, OTHER_APP, Clock

WINDOW = 60.0
BUDGET = Budget(
    events_per_window_per_app=10, events_per_window_per_identity=4, window_seconds=WINDOW
)


async def _two_stores(open_test_store: OpenStore, clock: Clock) -> tuple[Store, Store]:
    return await open_test_store(clock=clock), await open_test_store(clock=clock)


async def test_the_app_limit_holds_across_two_stores(
    open_test_store: OpenStore, clock: Clock
) -> None:
    first, second = await _two_stores(open_test_store, clock)

    taken = await first.reserve(APP, {"u1": 4, "u2": 4}, BUDGET)
    refused = await second.reserve(APP, {"u3": 4, "u4": 4}, BUDGET)

    assert (taken.granted, taken.retry_at) == ({"u1": 4, "u2": 4}, None)
    assert refused.granted == {"u3": 2, "u4": 0}
    assert refused.retry_at == clock.now + WINDOW
    assert refused.app_exhausted
    other_app = await second.reserve(OTHER_APP, {"u1": 4}, BUDGET)
    assert (other_app.granted, other_app.retry_at) == ({"u1": 4}, None)


async def test_the_identity_limit_holds_across_two_stores(
    open_test_store: OpenStore, clock: Clock
) -> None:
    first, second = await _two_stores(open_test_store, clock)

    await first.reserve(APP, {"u1": 3}, BUDGET)
    refused = await second.reserve(APP, {"u1": 3, "u2": 1}, BUDGET)

    assert refused.granted == {"u1": 1, "u2": 1}
    assert refused.retry_at == clock.now + WINDOW
    assert not refused.app_exhausted, "only u1's own limit refused it"


async def test_identities_are_granted_in_order_partly_or_not_at_all(
    clocked_store: Store,
) -> None:
    reservation = await clocked_store.reserve(APP, {"u1": 6, "u2": 3, "u3": 5, "u4": 1}, BUDGET)

    assert reservation.granted == {"u1": 4, "u2": 3, "u3": 3, "u4": 0}
    assert reservation.retry_at is not None
    assert len(reservation.id) == 32


async def test_retry_at_is_when_the_rows_that_free_the_refused_room_expire(
    clocked_store: Store, clock: Clock
) -> None:
    start = clock.now
    await clocked_store.reserve(APP, {"u1": 4}, BUDGET)
    clock.advance(10)
    await clocked_store.reserve(APP, {"u2": 4}, BUDGET)
    clock.advance(10)
    await clocked_store.reserve(APP, {"u3": 2}, BUDGET)

    three = await clocked_store.reserve(APP, {"u4": 3}, BUDGET)
    five = await clocked_store.reserve(APP, {"u4": 4, "u5": 1}, BUDGET)

    assert (three.granted, three.retry_at) == ({"u4": 0}, start + WINDOW)
    assert (five.granted, five.retry_at) == ({"u4": 0, "u5": 0}, start + 10 + WINDOW)
    clock.now = start + WINDOW - 0.001
    assert (await clocked_store.reserve(APP, {"u4": 1}, BUDGET)).granted == {"u4": 0}
    clock.now = start + WINDOW
    room = await clocked_store.reserve(APP, {"u4": 4, "u5": 1}, BUDGET)
    assert (room.granted, room.retry_at) == ({"u4": 4, "u5": 0}, start + 10 + WINDOW)


async def test_retry_at_for_an_identity_counts_only_its_own_rows(
    clocked_store: Store, clock: Clock
) -> None:
    budget = Budget(None, 4, WINDOW)
    start = clock.now
    await clocked_store.reserve(APP, {"u1": 3, "u2": 4}, budget)
    clock.advance(10)
    await clocked_store.reserve(APP, {"u1": 1}, budget)
    clock.advance(10)

    two = await clocked_store.reserve(APP, {"u1": 2}, budget)
    more_than_a_window_holds = await clocked_store.reserve(APP, {"u1": 9}, budget)

    assert (two.granted, two.retry_at) == ({"u1": 0}, start + WINDOW)
    assert more_than_a_window_holds.retry_at == start + 10 + WINDOW
    clock.now = start + WINDOW
    assert (await clocked_store.reserve(APP, {"u1": 4}, budget)).granted == {"u1": 3}


async def test_a_full_window_frees_room_once_it_has_passed(
    clocked_store: Store, clock: Clock
) -> None:
    await clocked_store.reserve(APP, {f"u{n}": 2 for n in range(5)}, BUDGET)

    full = await clocked_store.reserve(APP, {"u9": 1}, BUDGET)
    assert full.retry_at is not None and full.retry_at > clock.now

    clock.now = full.retry_at
    again = await clocked_store.reserve(APP, {"u9": 1}, BUDGET)
    assert (again.granted, again.retry_at) == ({"u9": 1}, None)


async def test_settling_counts_the_events_from_then(clocked_store: Store, clock: Clock) -> None:
    reservation = await clocked_store.reserve(APP, {"u1": 4}, BUDGET)
    clock.advance(50)
    await clocked_store.settle(reservation.id)
    settled_at = clock.now
    clock.advance(20)

    still_counted = await clocked_store.reserve(APP, {"u1": 1}, BUDGET)

    assert (still_counted.granted, still_counted.retry_at) == ({"u1": 0}, settled_at + WINDOW)
    clock.now = settled_at + WINDOW
    assert (await clocked_store.reserve(APP, {"u1": 1}, BUDGET)).granted == {"u1": 1}


async def test_a_refund_frees_the_room_for_every_store(
    open_test_store: OpenStore, clock: Clock
) -> None:
    first, second = await _two_stores(open_test_store, clock)
    unsent = await first.reserve(APP, {"u1": 4, "u2": 4, "u3": 2}, BUDGET)
    kept = await first.reserve(APP, {"u4": 4}, BUDGET)
    assert kept.granted == {"u4": 0}

    await second.refund(unsent.id)

    again = await second.reserve(APP, {"u1": 4, "u2": 4, "u3": 2}, BUDGET)
    assert (again.granted, again.retry_at) == ({"u1": 4, "u2": 4, "u3": 2}, None)


async def test_concurrent_reservers_never_grant_more_than_the_limit(
    open_test_store: OpenStore, clock: Clock
) -> None:
    first, second = await _two_stores(open_test_store, clock)
    budget = Budget(25, None, WINDOW)

    reservations = await asyncio.gather(
        *(
            (first if n % 2 else second).reserve(APP, {f"u{n}": 1, f"v{n}": 1}, budget)
            for n in range(30)
        )
    )

    assert sum(sum(r.granted.values()) for r in reservations) == 25


async def test_identity_counts_span_many_statements(clocked_store: Store) -> None:
    wanted = {f"user-{n}": 1 for n in range(1200)}

    first = await clocked_store.reserve(APP, wanted, Budget(1000, 1, WINDOW))
    second = await clocked_store.reserve(APP, wanted, Budget(None, 1, WINDOW))

    assert sum(first.granted.values()) == 1000
    assert [first.granted[f"user-{n}"] for n in (0, 999, 1000, 1199)] == [1, 1, 0, 0]
    assert sum(second.granted.values()) == 200
    assert [second.granted[f"user-{n}"] for n in (0, 999, 1000, 1199)] == [0, 0, 1, 1]


async def test_an_unlimited_budget_grants_everything(clocked_store: Store) -> None:
    reservation = await clocked_store.reserve(APP, {"u1": 10_000, "u2": 0}, Budget(None, None, 1))

    assert (reservation.granted, reservation.retry_at) == ({"u1": 10_000, "u2": 0}, None)


async def test_a_limit_of_zero_refuses_for_a_whole_window(
    clocked_store: Store, clock: Clock
) -> None:
    reservation = await clocked_store.reserve(APP, {"u1": 1}, Budget(0, None, WINDOW))

    assert (reservation.granted, reservation.retry_at) == ({"u1": 0}, clock.now + WINDOW)


async def test_nothing_wanted_reserves_nothing(clocked_store: Store) -> None:
    reservation = await clocked_store.reserve(APP, {}, BUDGET)

    assert (reservation.granted, reservation.retry_at) == ({}, None)
    await clocked_store.settle(reservation.id)
    await clocked_store.refund(reservation.id)


async def test_a_negative_count_is_refused(clocked_store: Store) -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        await clocked_store.reserve(APP, {"u1": 1, "u2": -1}, BUDGET)

    assert (await clocked_store.reserve(APP, {"u1": 4}, BUDGET)).granted == {"u1": 4}


def test_a_budget_needs_a_positive_window_and_limits_of_at_least_zero() -> None:
    with pytest.raises(ValueError, match="window_seconds"):
        Budget(10, 10, 0)
    with pytest.raises(ValueError, match="limits"):
        Budget(-1, None, 60)
