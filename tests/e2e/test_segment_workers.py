"""The HTTP intake with `--workers`: every worker process serves it on the one port."""

import base64
import json

from tests.support import http_client
from tests.support.processes import free_address, start_service
from tests.support.simulator_api import tracked_events
from tests.support.wait import wait_until


def test_two_workers_share_the_http_port_and_every_batch_is_delivered(simulator: str) -> None:
    http_address = free_address()
    service = start_service(
        free_address(),
        simulator,
        "--workers",
        "2",
        "--app-id",
        "1234567890",
        "--http-listen",
        http_address,
    )
    headers = {"authorization": "Basic " + base64.b64encode(b"any-key:").decode()}
    try:
        wait_until(
            lambda: http_client.get(f"http://{http_address}/healthz").status_code == 200,
            timeout=30,
            interval=0.1,
        )
        statuses = []
        for number in range(20):  # a connection each: the kernel spreads them over workers
            items = [{"type": "track", "event": "E", "userId": "u", "messageId": f"w-{number}"}]
            answer = http_client.post(
                f"http://{http_address}/v1/batch",
                content=json.dumps({"batch": items}).encode(),
                headers=headers,
            )
            statuses.append(answer.status_code)
    finally:
        service.terminate()
        service.wait(timeout=30)

    assert sum("HTTP intake listening" in line for line in service.lines) == 2
    assert statuses == [200] * 20
    assert sorted(e["idempotency_key"] for e in tracked_events(simulator)) == sorted(
        f"w-{n}" for n in range(20)
    )
