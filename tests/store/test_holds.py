"""Holding and pausing an app's delivery, on both engines."""

from heap_destination.store import AppHold, Store
from tests.store.helpers import APP, OTHER_APP, THIRD_APP, Clock, new_item


async def test_a_held_apps_items_are_not_claimed_until_the_hold_ends(
    clocked_store: Store, clock: Clock
) -> None:
    held, other = await clocked_store.append([new_item("a"), new_item("b", app_id=OTHER_APP)])

    await clocked_store.hold_app(APP, clock.now + 30, "Heap answered 429, Retry-After: 30")

    assert [item.id for item in await clocked_store.claim("worker-a", 10, 30.0)] == [other]
    assert await clocked_store.claim("worker-a", 10, 30.0) == []
    clock.advance(30)
    assert [item.id for item in await clocked_store.claim("worker-a", 10, 30.0)] == [held]


async def test_a_hold_keeps_the_later_until_and_the_newest_reason(
    clocked_store: Store, clock: Clock
) -> None:
    now = clock.now
    await clocked_store.hold_app(APP, now + 60, "first")
    await clocked_store.hold_app(APP, now + 10, "second")
    assert await clocked_store.holds() == [AppHold(APP, now + 60, False, "second")]

    await clocked_store.hold_app(APP, now + 120, "third")
    assert await clocked_store.holds() == [AppHold(APP, now + 120, False, "third")]


async def test_holds_lists_only_holds_in_force_by_app_id(
    clocked_store: Store, clock: Clock
) -> None:
    now = clock.now
    await clocked_store.hold_app(OTHER_APP, now + 100, "budget")
    await clocked_store.hold_app(APP, now + 10, "Retry-After")
    assert [hold.app_id for hold in await clocked_store.holds()] == [APP, OTHER_APP]

    clock.advance(10)

    assert await clocked_store.holds() == [AppHold(OTHER_APP, now + 100, False, "budget")]


async def test_a_paused_app_waits_until_resumed(clocked_store: Store, clock: Clock) -> None:
    [item_id] = await clocked_store.append([new_item()])

    await clocked_store.pause_app(APP, "the operator says so")
    clock.advance(86_400)

    assert await clocked_store.claim("worker-a", 10, 30.0) == []
    assert await clocked_store.holds() == [AppHold(APP, None, True, "the operator says so")]
    assert await clocked_store.resume_apps(APP) == [APP]
    assert await clocked_store.holds() == []
    assert [item.id for item in await clocked_store.claim("worker-a", 10, 30.0)] == [item_id]


async def test_a_hold_does_not_lift_a_pause(clocked_store: Store, clock: Clock) -> None:
    await clocked_store.append([new_item()])
    await clocked_store.pause_app(APP, "paused")

    await clocked_store.hold_app(APP, clock.now + 10, "Retry-After")
    clock.advance(20)

    assert await clocked_store.holds() == [AppHold(APP, None, True, "Retry-After")]
    assert await clocked_store.claim("worker-a", 10, 30.0) == []


async def test_pausing_keeps_a_hold_that_outlasts_the_pause(
    clocked_store: Store, clock: Clock
) -> None:
    [item_id] = await clocked_store.append([new_item()])
    await clocked_store.hold_app(APP, clock.now + 60, "Retry-After")
    await clocked_store.pause_app(APP, "paused")

    assert await clocked_store.resume_apps(None) == [APP]

    assert await clocked_store.holds() == []
    assert [item.id for item in await clocked_store.claim("worker-a", 10, 30.0)] == [item_id]


async def test_resuming_every_app_lifts_all_holds_and_names_the_paused_ones(
    clocked_store: Store, clock: Clock
) -> None:
    ids = await clocked_store.append(
        [new_item(app_id=THIRD_APP), new_item(app_id=OTHER_APP), new_item(app_id=APP)]
    )
    await clocked_store.pause_app(OTHER_APP, "paused")
    await clocked_store.pause_app(APP, "paused")
    await clocked_store.hold_app(THIRD_APP, clock.now + 60, "Retry-After")
    assert await clocked_store.claim("worker-a", 10, 30.0) == []

    assert await clocked_store.resume_apps(None) == [APP, OTHER_APP]

    assert await clocked_store.holds() == []
    claimed = [await clocked_store.claim("worker-a", 10, 30.0) for _ in range(3)]
    assert [item.id for claim in claimed for item in claim] == ids
    assert await clocked_store.resume_apps(None) == []


async def test_resuming_one_app_lifts_its_hold_and_leaves_the_others(
    clocked_store: Store, clock: Clock
) -> None:
    await clocked_store.hold_app(APP, clock.now + 60, "Retry-After")
    await clocked_store.pause_app(OTHER_APP, "paused")

    assert await clocked_store.resume_apps(APP) == []

    assert await clocked_store.holds() == [AppHold(OTHER_APP, None, True, "paused")]


async def test_backlog_shows_pauses_and_holds_and_lists_a_paused_idle_app(
    clocked_store: Store, clock: Clock
) -> None:
    await clocked_store.append([new_item(accepted_at=clock.now)])
    await clocked_store.hold_app(APP, clock.now + 30, "Retry-After")
    await clocked_store.pause_app(THIRD_APP, "paused")
    await clocked_store.hold_app(OTHER_APP, clock.now + 30, "held, with nothing to deliver")

    by_app = {backlog.app_id: backlog for backlog in await clocked_store.backlog()}

    assert set(by_app) == {APP, THIRD_APP}
    assert (by_app[APP].undelivered, by_app[APP].paused) == (1, False)
    assert by_app[APP].held_until == clock.now + 30
    paused = by_app[THIRD_APP]
    assert (paused.undelivered, paused.oldest_age_seconds, paused.delivered_last_minute) == (
        0,
        0.0,
        0,
    )
    assert (paused.paused, paused.held_until) == (True, None)

    clock.advance(30)
    by_app = {backlog.app_id: backlog for backlog in await clocked_store.backlog()}
    assert (by_app[APP].paused, by_app[APP].held_until) == (False, None)
