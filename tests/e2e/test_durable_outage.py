"""Heap down until every caller has its answer: callers in ack mode stored are answered
OK while Heap answers nothing but 503, and everything arrives once Heap is back."""

import threading
import time
from pathlib import Path

import pytest

from heap_destination.client import HeapDestinationClient
from tests.support.durable import (
    STORED,
    Acks,
    attempt_statuses,
    clear_faults,
    delivered_keys,
    duplicates,
    message_ids,
    start_stored_service,
    stream_stored,
    track_messages,
    wait_for_backlog,
)
from tests.support.simulator_api import inject_fault

STREAMED = 2_000
UNARY = 50


@pytest.mark.slow
def test_callers_see_only_ok_during_an_outage_and_every_event_arrives_once_after_it(
    simulator: str, tmp_path: Path
) -> None:
    service = start_stored_service(simulator, f"sqlite:{tmp_path / 'store.db'}")
    target = service.address()
    try:
        inject_fault(simulator, status=503, probability=1.0)
        outage_began = time.monotonic()
        streamed: list[Acks] = []
        producer = threading.Thread(
            target=lambda: streamed.append(
                stream_stored(target, track_messages("stream", STREAMED))
            )
        )
        producer.start()
        unary_keys = _track_one_by_one(target, message_ids("unary", UNARY))
        unary_answered = time.monotonic()
        producer.join(timeout=60)
        during_the_outage = attempt_statuses(simulator)
        clear_faults(simulator)
        outage_ended = time.monotonic()
        wait_for_backlog(target, at_most=0, timeout=40)
        recovered = time.monotonic() - outage_began
    finally:
        service.stop()

    (stream_acks,) = streamed
    print(
        f"\noutage: unary answered after {unary_answered - outage_began:.1f} s, stream after "
        f"{stream_acks.last_at - outage_began:.1f} s, Heap back after "
        f"{outage_ended - outage_began:.1f} s, all delivered after {recovered:.1f} s"
    )
    assert unary_keys == message_ids("unary", UNARY)
    assert stream_acks.codes == {0: STREAMED}
    assert set(during_the_outage) == {503}, "Heap took events before every caller had its OK"
    assert set(attempt_statuses(simulator)) == {200, 503}
    keys = delivered_keys(simulator)
    assert sorted(keys) == sorted(message_ids("unary", UNARY) + message_ids("stream", STREAMED))
    assert duplicates(keys) == 0


def _track_one_by_one(target: str, ids: list[str]) -> list[str]:
    """Unary TrackEvent calls in ack mode stored; the idempotency keys answered."""
    with HeapDestinationClient(target, config=STORED, timeout=5) as client:
        return [
            client.track("Paid", user_id="u1", message_id=message_id).idempotency_key
            for message_id in ids
        ]
