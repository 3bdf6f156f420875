"""Retries, Heap outages and Heap's permanent rejections, against the real simulator."""

import socket
from typing import Any

import grpc
import pytest

from heap_destination.client import HeapDestinationClient, error_details
from heap_destination.delivery.heap.retry_policy import RetryPolicy
from heap_destination.sim import HeapSimulator
from tests.conftest import APP_ID
from tests.support.simulator_api import accepted, attempts, inject_fault, tracked_events


def test_two_failures_then_success_delivers_once_with_one_idempotency_key(
    client: HeapDestinationClient, simulator: HeapSimulator
) -> None:
    inject_fault(simulator.url, status=500, count=2)

    response = client.track("Signed Up", user_id="u1")

    tries = attempts(simulator.url)
    assert [t["status"] for t in tries] == [500, 500, 200]
    assert {t["body"]["events"][0]["idempotency_key"] for t in tries} == {response.idempotency_key}
    [delivered] = tracked_events(simulator.url)
    assert delivered["idempotency_key"] == response.idempotency_key


def test_retry_after_on_429_is_honoured(
    client: HeapDestinationClient, simulator: HeapSimulator
) -> None:
    inject_fault(simulator.url, status=429, count=1, retry_after="1")

    client.track("Signed Up", user_id="u1", message_id="m-1")

    assert [t["status"] for t in attempts(simulator.url)] == [429, 200]
    assert len(accepted(simulator.url)) == 1


def test_a_dropped_connection_is_retried(
    client: HeapDestinationClient, simulator: HeapSimulator
) -> None:
    inject_fault(simulator.url, drop_connection=True, count=1)

    client.track("Signed Up", user_id="u1")

    assert [t["status"] for t in attempts(simulator.url)] == [None, 200]


def test_heap_that_stays_unreachable_gives_unavailable_within_the_deadline(
    start_service: Any,
) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed_port = unused.getsockname()[1]
    service = start_service(
        base_url=f"http://127.0.0.1:{closed_port}",
        retry=RetryPolicy(initial_backoff=0.05, max_backoff=0.2, max_attempts=1000),
    )

    with (
        HeapDestinationClient(service.target, app_id=APP_ID, timeout=1.5) as client,
        pytest.raises(grpc.RpcError) as raised,
    ):
        client.track("Signed Up", user_id="u1")

    details = error_details(raised.value)
    assert details.code == grpc.StatusCode.UNAVAILABLE
    assert details.reason == "HEAP_UNAVAILABLE"


def test_heap_failing_every_attempt_gives_unavailable(
    client: HeapDestinationClient, simulator: HeapSimulator
) -> None:
    inject_fault(simulator.url, status=503, count=1000)

    with pytest.raises(grpc.RpcError) as raised:
        client.track("Signed Up", user_id="u1")

    assert error_details(raised.value).code == grpc.StatusCode.UNAVAILABLE
    assert len(attempts(simulator.url)) == RetryPolicy().max_attempts
    assert accepted(simulator.url) == []


def test_a_permanent_rejection_is_not_retried_and_quotes_heap(
    client: HeapDestinationClient, simulator: HeapSimulator
) -> None:
    inject_fault(simulator.url, status=400, count=1)

    with pytest.raises(grpc.RpcError) as raised:
        client.track("Signed Up", user_id="u1")

    details = error_details(raised.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.reason == "HEAP_REJECTED"
    assert "Heap answered 400" in details.message
    assert "injected fault" in details.message
    assert len(attempts(simulator.url)) == 1
