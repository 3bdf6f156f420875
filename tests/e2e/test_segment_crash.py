"""The Segment HTTP intake's 200 in ack mode STORED survives a crash: a service with a
SQLite store, SIGKILLed right after a run of 200s while Heap is slow, then restarted on
the same store, delivers every item those 200s covered."""

import base64
import json
from pathlib import Path

from tests.support import http_client
from tests.support.durable import clear_faults, delivered_keys, wait_for_backlog
from tests.support.processes import free_address, start_service
from tests.support.simulator_api import inject_fault

APP_ID = "1234567890"
BATCHES = 20
PER_BATCH = 100


def batch_body(number: int) -> bytes:
    items = [
        {
            "type": "track",
            "event": "Crash Test",
            "userId": f"user-{n % 13}",
            "messageId": f"crash-{number}-{n}",
            "properties": {"batch": number, "n": n, "nested": {"ok": True}},
        }
        for n in range(PER_BATCH)
    ]
    return json.dumps({"batch": items, "sentAt": "2026-12-07T08:00:00Z"}).encode()


def test_every_item_a_200_covered_is_delivered_after_a_sigkill_and_a_restart(
    simulator: str, tmp_path: Path
) -> None:
    store = f"sqlite:{tmp_path / 'store.db'}"
    inject_fault(simulator, latency_ms=1000, probability=1.0, path="/api/track")
    # A short lease: the killed process's claimed batches are claimed again soon.
    flags = ("--store", store, "--app-id", APP_ID, "--store-lease", "2")
    http_address = free_address()
    first = start_service(free_address(), simulator, *flags, "--http-listen", http_address)
    answered: list[str] = []
    try:
        headers = {"authorization": "Basic " + base64.b64encode(b"any-key:").decode()}
        with http_client.HttpClient(f"http://{http_address}", timeout=15) as client:
            for number in range(BATCHES):
                answer = client.post("/v1/batch", content=batch_body(number), headers=headers)
                assert answer.status_code == 200, answer.text
                assert answer.json() == {"success": True, "taken": PER_BATCH}
                answered += [f"crash-{number}-{n}" for n in range(PER_BATCH)]
    finally:
        first.stop()  # SIGKILL, right after the last 200
    delivered_at_kill = sum(delivered_keys(simulator).values())
    clear_faults(simulator)

    second = start_service(free_address(), simulator, *flags)
    try:
        wait_for_backlog(second.address(), at_most=0, timeout=60)
    finally:
        second.stop()

    keys = delivered_keys(simulator)
    print(f"\nsegment crash: {delivered_at_kill} of {len(answered)} delivered at the kill")
    assert len(answered) == BATCHES * PER_BATCH
    assert delivered_at_kill < len(answered)
    assert set(answered) <= set(keys)
    assert max(keys.values()) <= 2, "an item was sent more than twice"
