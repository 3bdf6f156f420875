"""A burst far above Heap's rate limit, in ack mode stored: the producer is answered as
fast as the store commits, and delivery drains the store within Heap's limit."""

import time
from pathlib import Path

import pytest

from tests.support.durable import (
    attempt_statuses,
    delivered_keys,
    duplicates,
    message_ids,
    rate_limit_flags,
    set_limits,
    start_stored_service,
    stream_stored,
    track_messages,
    wait_for_backlog,
)

EVENTS = 60_000
# Heap's per-app limit, scaled: 6,000 events per 2 s window. Delivering 60,000 needs ten
# windows, so the last events cannot reach Heap before 9 windows (18 s) have passed.
LIMIT = 6_000
WINDOW = 2.0
LIMIT_NEEDS = (EVENTS // LIMIT - 1) * WINDOW


@pytest.mark.slow
def test_a_burst_is_acked_at_store_speed_and_delivered_once_within_heaps_limit(
    simulator: str, tmp_path: Path
) -> None:
    set_limits(simulator, LIMIT, WINDOW)
    service = start_stored_service(
        simulator, f"sqlite:{tmp_path / 'store.db'}", *rate_limit_flags(LIMIT, WINDOW)
    )
    try:
        started = time.monotonic()
        acks = stream_stored(service.address(), track_messages("burst", EVENTS), timeout=60)
        delivered_at = wait_for_backlog(service.address(), at_most=0, timeout=60)
    finally:
        service.stop()

    last_ack = acks.last_at - started
    last_delivery = delivered_at - started
    print(f"\nburst: last ack after {last_ack:.1f} s, last delivery after {last_delivery:.1f} s")
    assert acks.codes == {0: EVENTS}
    assert last_ack < LIMIT_NEEDS, "the producer was held back by Heap's limit"
    assert last_delivery >= LIMIT_NEEDS, "delivery went faster than Heap's limit allows"
    keys = delivered_keys(simulator)
    assert sorted(keys) == sorted(message_ids("burst", EVENTS))
    assert duplicates(keys) == 0
    assert 429 not in attempt_statuses(simulator)
