"""The client's batching sender against a real service over a real channel and the
simulator over real HTTP."""

import json
import socket
import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, wait
from pathlib import Path
from typing import Any

import grpc
import pytest

from heap_destination.app.tokens import parse_tokens
from heap_destination.client import (
    EventError,
    HeapDestinationClient,
    SenderClosed,
    SenderFull,
    error_details,
)
from heap_destination.delivery.engine import EngineSettings
from heap_destination.delivery.limits.rate_limiter import RateLimitSettings
from heap_destination.sim import HeapSimulator
from heap_destination.v1 import config_pb2, stream_pb2
from tests.conftest import APP_ID
from tests.support.background_service import BackgroundService
from tests.support.simulator_api import (
    account_updates,
    faults,
    inject_fault,
    tracked_events,
    user_property_updates,
)
from tests.support.wait import wait_until

NO_RATE_LIMITS = EngineSettings(
    rate_limits=RateLimitSettings(
        events_per_window_per_app=None, events_per_window_per_identity=None
    )
)
RESULT_TIMEOUT = 10.0
A_LONG_TIME = 3600.0


@pytest.fixture
def fast_service(simulator: HeapSimulator, start_service: Any) -> BackgroundService:
    service: BackgroundService = start_service(base_url=simulator.url, engine=NO_RATE_LIMITS)
    return service


def test_heap_gets_the_events_in_send_order_per_identity_and_each_result_is_its_events(
    simulator: HeapSimulator, fast_service: BackgroundService
) -> None:
    settled: dict[int, int] = defaultdict(int)

    def count_settling(n: int) -> Callable[[Future[stream_pb2.EventResult]], None]:
        return lambda _: settled.__setitem__(n, settled[n] + 1)

    futures: list[Future[stream_pb2.EventResult]] = []
    with HeapDestinationClient(fast_service.target, app_id=APP_ID) as client:
        with client.sender(max_batch=50) as sender:
            for n in range(600):
                future = sender.track(
                    "Clicked",
                    user_id=f"user-{n % 3}",
                    properties={"n": n, f"empty-{n}": {}},
                    message_id=f"m-{n}",
                )
                future.add_done_callback(count_settling(n))
                futures.append(future)

    assert settled == dict.fromkeys(range(600), 1)
    for n, future in enumerate(futures):
        warned = [(w.field, w.key) for w in future.result(timeout=0).warnings]
        assert warned == [("properties", f"empty-{n}")]
    received: dict[str, list[str]] = defaultdict(list)
    for event in tracked_events(simulator.url):
        received[event["identity"]].append(event["idempotency_key"])
    for user in range(3):
        assert received[f"user-{user}"] == [f"m-{n}" for n in range(user, 600, 3)]


def test_every_kind_of_call_goes_through_the_sender(
    simulator: HeapSimulator, fast_service: BackgroundService
) -> None:
    with HeapDestinationClient(fast_service.target, app_id=APP_ID) as client:
        with client.sender() as sender:
            futures = [
                sender.track("Signed Up", user_id="u1", traits={"plan": "pro"}),
                sender.page("Home", user_id="u1"),
                sender.screen("Settings", user_id="u2"),
                sender.identify(user_id="u1", traits={"email": "u1@example.com"}),
                sender.update_account(account_id="acme", properties={"seats": 5}),
            ]
            done, _ = wait(futures, timeout=RESULT_TIMEOUT)

    assert done == set(futures)
    assert [f.result().code for f in futures] == [0] * 5
    events = {(e["identity"], e["event"]) for e in tracked_events(simulator.url)}
    assert events == {("u1", "Signed Up"), ("u1", "Page viewed"), ("u2", "Screen viewed")}
    assert {u["identity"] for u in user_property_updates(simulator.url)} == {"u1"}
    assert [a["account_id"] for a in account_updates(simulator.url)] == ["acme"]


def test_close_sends_what_is_queued_and_waits_for_its_results_then_sending_raises(
    simulator: HeapSimulator, fast_service: BackgroundService
) -> None:
    with HeapDestinationClient(fast_service.target, app_id=APP_ID) as client:
        sender = client.sender(max_batch=1000, max_delay=A_LONG_TIME)
        futures = [sender.track("Queued", user_id=f"u{n}") for n in range(5)]
        sender.close()

        assert all(f.done() and f.result().code == 0 for f in futures)
        assert len(tracked_events(simulator.url)) == 5
        with pytest.raises(SenderClosed):
            sender.track("Too Late", user_id="u1")


def test_a_full_batch_is_sent_without_waiting_for_the_delay(
    fast_service: BackgroundService,
) -> None:
    with HeapDestinationClient(fast_service.target, app_id=APP_ID) as client:
        with client.sender(max_batch=3, max_delay=A_LONG_TIME) as sender:
            full = [sender.track("Batched", user_id=f"u{n}") for n in range(3)]
            done, _ = wait(full, timeout=RESULT_TIMEOUT)
            assert done == set(full)
            # Alone in its batch, the fourth waits for the delay or for close.
            fourth = sender.track("Left Over", user_id="u4")
            assert not fourth.done()
        assert fourth.result(timeout=0).code == 0


def test_a_batch_that_is_not_full_is_sent_after_the_delay(
    fast_service: BackgroundService,
) -> None:
    with HeapDestinationClient(fast_service.target, app_id=APP_ID) as client:
        with client.sender(max_batch=1000, max_delay=0.01) as sender:
            result = sender.track("Alone", user_id="u1").result(timeout=RESULT_TIMEOUT)
    assert result.code == 0


def test_sending_blocks_while_the_queue_is_full_until_a_result_frees_room(
    simulator: HeapSimulator, fast_service: BackgroundService
) -> None:
    inject_fault(simulator.url, latency_ms=1000, count=1)
    done_when_send_returned: list[bool] = []
    with HeapDestinationClient(fast_service.target, app_id=APP_ID) as client:
        with client.sender(max_queued_events=2) as sender:
            held = [sender.track("Held", user_id=f"u{n}") for n in range(2)]

            def send_third() -> None:
                sender.track("Third", user_id="u3")
                done_when_send_returned.append(any(f.done() for f in held))

            third = threading.Thread(target=send_third)
            third.start()
            third.join(timeout=RESULT_TIMEOUT)

    assert done_when_send_returned == [True]
    assert sorted(e["event"] for e in tracked_events(simulator.url)) == ["Held", "Held", "Third"]


def test_a_send_timeout_raises_sender_full_while_the_service_holds_the_queue(
    simulator: HeapSimulator, fast_service: BackgroundService
) -> None:
    inject_fault(simulator.url, latency_ms=2000, count=1)
    with HeapDestinationClient(fast_service.target, app_id=APP_ID) as client:
        with client.sender(max_queued_events=1, send_timeout=0.05) as sender:
            held = sender.track("Held", user_id="u1")
            with pytest.raises(SenderFull):
                sender.track("Turned Away", user_id="u2")
            assert held.result(timeout=RESULT_TIMEOUT).code == 0
            assert faults(simulator.url) == []
            assert sender.track("After", user_id="u2").result(timeout=RESULT_TIMEOUT).code == 0


def test_a_bad_event_fails_alone_with_the_error_a_unary_call_raises(
    simulator: HeapSimulator, fast_service: BackgroundService
) -> None:
    with HeapDestinationClient(fast_service.target, app_id=APP_ID) as client:
        with pytest.raises(grpc.RpcError) as unary:
            client.track("No Identity")
        with client.sender() as sender:
            before = sender.track("Before", user_id="u1")
            bad = sender.track("No Identity")
            after = sender.track("After", user_id="u1")
            wait([before, bad, after], timeout=RESULT_TIMEOUT)

    streamed = bad.exception(timeout=0)
    assert isinstance(streamed, EventError) and isinstance(streamed, grpc.RpcError)
    assert error_details(streamed) == error_details(unary.value)
    assert error_details(streamed).code == grpc.StatusCode.INVALID_ARGUMENT
    assert before.result(timeout=0).code == 0 and after.result(timeout=0).code == 0
    assert [e["event"] for e in tracked_events(simulator.url)] == ["Before", "After"]


def test_stored_mode_answers_once_each_event_is_stored(
    simulator: HeapSimulator, start_service: Any, tmp_path: Path
) -> None:
    service = start_service(base_url=simulator.url, store_url=f"sqlite:{tmp_path / 'store.db'}")
    stored = config_pb2.DestinationConfig(app_id=APP_ID, ack_mode=config_pb2.ACK_MODE_STORED)
    with HeapDestinationClient(service.target, config=stored) as client:
        with client.sender() as sender:
            futures = [sender.track("Stored", user_id=f"u{n}") for n in range(20)]
    assert [f.result(timeout=0).code for f in futures] == [0] * 20


def test_a_broken_stream_fails_its_events_retryably_and_the_next_send_opens_another() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        nobody_listens = f"127.0.0.1:{probe.getsockname()[1]}"
    with HeapDestinationClient(nobody_listens, app_id=APP_ID) as client:
        with client.sender() as sender:
            first = sender.track("Lost", user_id="u1").exception(timeout=RESULT_TIMEOUT)
            second = sender.track("Lost Again", user_id="u1").exception(timeout=RESULT_TIMEOUT)
    for error in (first, second):
        assert isinstance(error, EventError)
        assert error_details(error).code == grpc.StatusCode.UNAVAILABLE


def test_a_send_from_a_result_callback_raises_sender_full_at_once_instead_of_waiting(
    simulator: HeapSimulator, fast_service: BackgroundService
) -> None:
    inject_fault(simulator.url, latency_ms=500, count=1)  # the callback is added in time
    raised: list[BaseException] = []

    def send_more(_: Future[stream_pb2.EventResult]) -> None:
        try:
            sender.track("From Callback", user_id="u2")
        except SenderFull as error:
            raised.append(error)

    with HeapDestinationClient(fast_service.target, app_id=APP_ID) as client:
        with client.sender(max_queued_events=1) as sender:
            first = sender.track("First", user_id="u1")
            first.add_done_callback(send_more)
            assert first.result(timeout=RESULT_TIMEOUT).code == 0
    assert len(raised) == 1


def test_a_stream_the_service_refuses_fails_its_events_with_the_status_a_unary_call_gets(
    simulator: HeapSimulator, start_service: Any
) -> None:
    tokens = json.dumps([{"name": "billing", "token": "s3cret-billing-token"}])
    service = start_service(base_url=simulator.url, tokens=parse_tokens(tokens, "test"))
    with HeapDestinationClient(service.target, app_id=APP_ID, token="wrong") as client:
        with pytest.raises(grpc.RpcError) as unary:
            client.track("Refused", user_id="u1")
        with client.sender() as sender:
            streamed = sender.track("Refused", user_id="u1").exception(timeout=RESULT_TIMEOUT)

    assert isinstance(streamed, EventError)
    assert streamed.code() == unary.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert tracked_events(simulator.url) == []


def test_closing_the_client_first_fails_the_unanswered_events_with_cancelled(
    simulator: HeapSimulator, fast_service: BackgroundService
) -> None:
    inject_fault(simulator.url, latency_ms=2000, count=1)
    client = HeapDestinationClient(fast_service.target, app_id=APP_ID)
    sender = client.sender()
    held = sender.track("Held", user_id="u1")
    wait_until(lambda: faults(simulator.url) == [], timeout=RESULT_TIMEOUT, interval=0.01)
    client.close()

    error = held.exception(timeout=RESULT_TIMEOUT)
    assert isinstance(error, EventError) and error.code() == grpc.StatusCode.CANCELLED
    sender.close()
