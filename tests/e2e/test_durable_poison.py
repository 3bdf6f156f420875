"""One event Heap rejects (400) among 10,000 stored ones: it alone becomes a dead letter,
with Heap's status and body, which the operator can list, replay alone and follow by its
message id with `heap-destination deliveries`."""

import math
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from heap_destination.client import in_messages, track_event
from heap_destination.v1 import stream_pb2
from tests.support.durable import (
    MAX_BATCH,
    STORED,
    attempt_statuses,
    clear_faults,
    delivered_keys,
    deliveries,
    duplicates,
    message_ids,
    start_stored_service,
    stream_stored,
    wait_for_backlog,
)
from tests.support.simulator_api import attempts, inject_fault
from tests.support.wait import wait_until

EVENTS = 10_000
POISON_AT = 4_321
POISON_USER = "poison-user-7f3a9c"
INJECTED_BODY = '{"error": "injected fault"}'


@pytest.mark.slow
def test_a_poison_event_is_dead_lettered_alone_and_delivered_after_a_replay(
    simulator: str, tmp_path: Path
) -> None:
    inject_fault(simulator, status=400, probability=1.0, body_contains=POISON_USER)
    service = start_stored_service(simulator, f"sqlite:{tmp_path / 'store.db'}")
    target = service.address()
    try:
        acks = stream_stored(target, _events_with_one_poison())
        wait_for_backlog(target, at_most=0, timeout=30)
        dead = deliveries(target, "dead-letters")["dead_letters"]
        delivered_before_replay = delivered_keys(simulator)
        rejections = attempt_statuses(simulator)[400]

        clear_faults(simulator)
        replayed = deliveries(target, "replay", "--message-id", "poison")
        wait_until(lambda: "poison" in delivered_keys(simulator), timeout=20, interval=0.2)
        (status,) = deliveries(target, "status", "--message-id", "poison")["events"]
    finally:
        service.stop()

    print(f"\npoison: isolated after {rejections} rejected requests")
    assert acks.codes == {0: EVENTS}
    (letter,) = dead
    assert letter["message_id"] == "poison"
    assert letter["identity"] == POISON_USER
    assert letter["status"] == "DELIVERY_STATUS_DEAD"
    assert letter["heap_status"] == 400
    assert letter["heap_body"] == INJECTED_BODY
    assert "400" in letter["last_error"]
    others = [key for key in message_ids("e", EVENTS) if key != f"e-{POISON_AT}"]
    assert sorted(delivered_before_replay) == sorted(others)
    assert duplicates(delivered_before_replay) == 0
    assert rejections <= 1 + math.ceil(math.log2(MAX_BATCH)), "not isolated by halving"
    assert replayed == {"replayed": 1}
    assert status["status"] == "DELIVERY_STATUS_DELIVERED"
    assert datetime.fromisoformat(status["replayed_at"]) > datetime.fromisoformat(
        status["accepted_at"]
    )
    assert delivered_keys(simulator)["poison"] == 1


@pytest.mark.slow
def test_an_event_heap_answers_500_forever_is_retried_alone_and_the_rest_delivered(
    simulator: str, tmp_path: Path
) -> None:
    retry_age = 20.0
    inject_fault(simulator, status=500, probability=1.0, body_contains=POISON_USER)
    service = start_stored_service(
        simulator, f"sqlite:{tmp_path / 'store.db'}", "--max-retry-age", str(retry_age)
    )
    target = service.address()
    try:
        acks = stream_stored(target, _events_with_one_poison())
        started = time.monotonic()
        wait_for_backlog(target, at_most=1, timeout=120)
        others_took = time.monotonic() - started
        delivered = delivered_keys(simulator)
        (waiting,) = deliveries(target, "status", "--message-id", "poison")["events"]
        wait_until(lambda: deliveries(target, "dead-letters")["dead_letters"], timeout=60)
        dead = deliveries(target, "dead-letters")["dead_letters"]
        with_poison = _track_requests_holding(simulator, POISON_USER)

        clear_faults(simulator)
        replayed = deliveries(target, "replay", "--message-id", "poison")
        wait_until(lambda: "poison" in delivered_keys(simulator), timeout=20, interval=0.2)
    finally:
        service.stop()

    alone = [events for events in with_poison if events == 1]
    print(
        f"\n500 poison: the others delivered after {others_took:.1f} s; it was sent "
        f"{len(with_poison)} times, {len(alone)} alone"
    )
    assert acks.codes == {0: EVENTS}
    others = [key for key in message_ids("e", EVENTS) if key != f"e-{POISON_AT}"]
    assert sorted(delivered) == sorted(others)
    assert duplicates(delivered) == 0
    assert others_took < retry_age, "delivered by the retry age, not by splitting"
    assert waiting["status"] in ("DELIVERY_STATUS_STORED", "DELIVERY_STATUS_DELIVERING")
    (letter,) = dead
    assert (letter["message_id"], letter["heap_status"]) == ("poison", 500)
    assert len(alone) >= 2, "the poison event was not retried alone"
    assert with_poison[-len(alone) :] == alone, "retried with others after it stood alone"
    assert replayed == {"replayed": 1}
    assert delivered_keys(simulator)["poison"] == 1


def _track_requests_holding(simulator: str, text: str) -> list[int]:
    """The number of events of each bulk track request whose body held `text`."""
    return [
        len(attempt["body"]["events"])
        for attempt in attempts(simulator)
        if attempt["path"] == "/api/track" and text in str(attempt["body"])
    ]


def _events_with_one_poison() -> Iterator[stream_pb2.StreamEventsRequest]:
    """EVENTS track events, the one at POISON_AT with message id "poison" and an identity
    Heap rejects."""
    events = [track_event(f"e-{n}", "Burst", user_id=f"user-{n % 100}") for n in range(EVENTS)]
    events[POISON_AT] = track_event("poison", "Burst", user_id=POISON_USER)
    return in_messages(events, 500, STORED)
