"""How the simulator serves connections: many at once on one event loop, curl's
`Expect: 100-continue`, and a port already taken."""

import json
import socket
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from heap_destination.sim import HeapSimulator
from heap_destination.sim.faults import Fault
from tests.support.http_client import HttpClient
from tests.support.simulator_api import faults
from tests.support.wait import wait_until

TRACK = "/api/track"


def _track(identity: str) -> dict[str, str]:
    return {"app_id": "11", "identity": identity, "event": "Viewed"}


def test_a_request_held_by_latency_holds_up_no_other(simulator: HeapSimulator) -> None:
    simulator.inject(Fault(latency_ms=60_000, body_contains="held"))

    def send_held() -> object:
        with HttpClient(simulator.url, timeout=60) as http:
            return http.post(TRACK, json=_track("held")).status_code

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(send_held)
        wait_until(lambda: faults(simulator.url) == [], timeout=10, interval=0.01)
        with HttpClient(simulator.url, timeout=5) as http:
            assert http.post(TRACK, json=_track("free")).status_code == 200
        # Ends the held request's connection, so the pool's thread is not kept waiting.
        simulator.reset()


def test_expect_100_continue_is_answered_before_the_body(simulator: HeapSimulator) -> None:
    parts = urlsplit(simulator.url)
    assert parts.hostname is not None and parts.port is not None
    body = json.dumps(_track("alice")).encode()
    head = (
        f"POST {TRACK} HTTP/1.1\r\nHost: sim\r\nContent-Length: {len(body)}\r\n"
        "Expect: 100-continue\r\n\r\n"
    ).encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
        connection.sendall(head)
        assert connection.recv(1024).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        connection.sendall(body)
        answer = b""
        while b"{}" not in answer:
            chunk = connection.recv(1024)
            assert chunk, answer
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")


def test_a_port_already_taken_is_an_error_of_start(simulator: HeapSimulator) -> None:
    port = urlsplit(simulator.url).port
    assert port is not None
    with pytest.raises(OSError):
        HeapSimulator("127.0.0.1", port).start()
