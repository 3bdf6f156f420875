"""A service killed (SIGKILL) while it delivers stored events, then restarted on the same
store: every acked event still reaches Heap, and the only duplicates are the events the
killed process had in flight, sent again with the same idempotency keys."""

import time
from pathlib import Path

import pytest

from tests.support.durable import (
    MAX_BATCH,
    assert_copies_identical,
    clear_faults,
    delivered_keys,
    duplicates,
    leased_in_sqlite,
    message_ids,
    rate_limit_flags,
    set_limits,
    start_stored_service,
    stream_stored,
    track_messages,
    wait_for_backlog,
)
from tests.support.simulator_api import inject_fault, tracked_events
from tests.support.wait import wait_until

EVENTS = 20_000
# Slow delivery: 4,000 events per 2 s window, and each request to Heap takes 1 s.
LIMIT = 4_000
WINDOW = 2.0
LATENCY_MS = 1000
# How long Heap holds the requests on their way when the process is killed; they land
# while the restarted process delivers, or after the test on a busy machine.
HELD_MS = 12_000
# Batches one process delivers at once (StoredDeliverySettings.max_concurrent_batches).
MAX_CONCURRENT_BATCHES = 8
# The killed process's lease decides when its batches may be claimed again; it must
# outlast a request (a request may take half the lease), so 5 s for 1 s requests.
FIRST_LEASE = 5.0
RESTART_LEASE = 2.0


@pytest.mark.slow
def test_a_killed_service_restarted_on_its_store_delivers_every_acked_event(
    simulator: str, tmp_path: Path
) -> None:
    store = tmp_path / "store.db"
    set_limits(simulator, LIMIT, WINDOW)
    inject_fault(simulator, latency_ms=LATENCY_MS, probability=1.0, path="/api/track")
    limits = rate_limit_flags(LIMIT, WINDOW)
    first = start_stored_service(
        simulator, f"sqlite:{store}", *limits, "--store-lease", str(FIRST_LEASE)
    )
    try:
        acks = stream_stored(first.address(), track_messages("crash", EVENTS))
        wait_for_backlog(first.address(), at_most=EVENTS - LIMIT, timeout=30, interval=0.1)
        # Heap now holds every request for HELD_MS: the batches it holds are surely still
        # on their way when the process is killed, however busy the machine.
        clear_faults(simulator)
        inject_fault(simulator, latency_ms=HELD_MS, probability=1.0, path="/api/track")
        wait_until(lambda: _batches_at_heap(store), timeout=HELD_MS / 1000 / 2)
    finally:
        first.stop()  # SIGKILL, while batches of the next window are on their way
    killed_at = time.monotonic()
    leased_at_kill = leased_in_sqlite(store)
    # At least LIMIT (the backlog said so); requests on their way at the kill may land
    # before or after this count, but never make it EVENTS.
    delivered_before_restart = len(tracked_events(simulator))
    clear_faults(simulator)  # Heap answers at once again; only its limit remains

    second = start_stored_service(
        simulator, f"sqlite:{store}", *limits, "--store-lease", str(RESTART_LEASE)
    )
    try:
        wait_for_backlog(second.address(), at_most=0, timeout=40)
    finally:
        second.stop()
    recovered = time.monotonic() - killed_at

    keys = delivered_keys(simulator)
    duplicated = {key for key, count in keys.items() if count > 1}
    print(
        f"\ncrash: {delivered_before_restart} delivered before the restart, "
        f"{len(leased_at_kill)} leased at the kill, {duplicates(keys)} duplicates, "
        f"all delivered {recovered:.1f} s after the kill"
    )
    assert acks.codes == {0: EVENTS}
    assert 0 < delivered_before_restart < EVENTS
    assert sorted(keys) == sorted(message_ids("crash", EVENTS))
    assert 0 < len(leased_at_kill) <= MAX_CONCURRENT_BATCHES * MAX_BATCH
    assert duplicated <= set(leased_at_kill), "a duplicate that was not in flight at the kill"
    assert max(keys.values()) <= 2, "an event was sent more than twice"
    assert_copies_identical(simulator, duplicated)


def _batches_at_heap(store: Path) -> bool:
    """Whether events stay leased for longer than a request sent before HELD_MS took (a
    batch the budget refuses is leased only for a moment): batches Heap holds."""
    leased = set(leased_in_sqlite(store))
    time.sleep(3 * LATENCY_MS / 1000)
    return bool(leased & set(leased_in_sqlite(store)))
