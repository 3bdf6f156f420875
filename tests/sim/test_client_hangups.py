"""A client hanging up mid-request or mid-answer is no error worth a log line or a
traceback; the simulator goes on answering others."""

import json
import logging
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from heap_destination.sim import HeapSimulator
from heap_destination.sim.faults import Fault
from tests.support.http_client import HttpClient
from tests.support.simulator_api import faults
from tests.support.wait import wait_until

TRACK = "/api/track"
BODY = json.dumps({"app_id": "11", "identity": "alice", "event": "Viewed"}).encode()


@pytest.fixture
def simulator() -> Iterator[HeapSimulator]:
    with HeapSimulator() as running:
        yield running


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return socket.create_connection((parts.hostname, parts.port), timeout=10)


def _head(length: int) -> bytes:
    return (
        f"POST {TRACK} HTTP/1.1\r\nHost: sim\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def _assert_quiet_and_serving(
    simulator: HeapSimulator, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with HttpClient(simulator.url) as http:
        assert http.get("/_sim/health").status_code == 200
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert capsys.readouterr().err == ""


def test_a_client_hanging_up_before_its_answer_logs_nothing(
    simulator: HeapSimulator, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    simulator.inject(Fault(latency_ms=200))
    with _connect(simulator.url) as connection:
        connection.sendall(_head(len(BODY)) + BODY)
        # The fault is used up once the request is being held by it.
        wait_until(lambda: faults(simulator.url) == [], timeout=10, interval=0.01)
    wait_until(lambda: len(simulator.attempts()) == 1, timeout=10, interval=0.01)

    _assert_quiet_and_serving(simulator, caplog, capsys)


def test_a_client_hanging_up_mid_body_logs_nothing(
    simulator: HeapSimulator, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with _connect(simulator.url) as connection:
        connection.sendall(_head(len(BODY)) + BODY[:10])

    _assert_quiet_and_serving(simulator, caplog, capsys)
    assert simulator.attempts() == []
