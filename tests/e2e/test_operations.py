"""What operators see of a running service process: metrics, logs, health, reflection."""

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from prometheus_client.parser import text_string_to_metric_families

from heap_destination.client import HeapDestinationClient, in_messages, track_event
from tests.support import http_client
from tests.support.processes import (
    COMMAND,
    Process,
    free_address,
    start_service,
)
from tests.support.simulator_api import faults, inject_fault
from tests.support.wait import wait_until

APP_ID = "1234567890"
TOKEN = "token-secret-5b1f0e2c9a"
PROPERTY_SECRET = "prop-secret-4711"
TRAIT_SECRET = "trait-secret-0815"
BUF = Path(sys.executable).with_name("buf")
SERVICE = "heap_destination.v1.HeapDestinationService"


def _client(target: str, token: str = TOKEN) -> HeapDestinationClient:
    channel = grpc.intercept_channel(grpc.insecure_channel(target), _Bearer(token))
    return HeapDestinationClient(target, app_id=APP_ID, channel=channel)


class _Bearer(grpc.UnaryUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):  # type: ignore[misc]
    def __init__(self, token: str) -> None:
        self._metadata = (("authorization", f"Bearer {token}"), ("x-request-id", "req-42"))

    def intercept_unary_unary(self, continuation, details, request):  # type: ignore[no-untyped-def]
        return continuation(details._replace(metadata=self._metadata), request)

    def intercept_stream_stream(self, continuation, details, requests):  # type: ignore[no-untyped-def]
        return continuation(details._replace(metadata=self._metadata), requests)


def _metrics(address: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = http_client.get(f"http://{address}/metrics").text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_count_a_test_load_and_logs_hold_no_values_or_tokens(simulator: str) -> None:
    metrics_address = free_address()
    service = start_service(
        free_address(),
        simulator,
        "--metrics-listen",
        metrics_address,
        "--log-level",
        "debug",
        env={"HEAP_DESTINATION_TOKENS": json.dumps([{"token": TOKEN}])},
    )
    inject_fault(simulator, status=500, count=1)
    try:
        with _client(service.address()) as client:
            for n in range(4):
                client.track("Paid", user_id="u1", properties={"note": PROPERTY_SECRET, "n": n})
            client.track("Wrote", user_id="u1", properties={"text": "x" * 2000})
            client.identify(user_id="u1", traits={"id": 5, "secret": TRAIT_SECRET})
            with pytest.raises(grpc.RpcError):
                client.track("", user_id="u1")
            events = (track_event(str(i), "Streamed", user_id=f"u{i}") for i in range(200))
            results = list(client.stream(in_messages(events, 50)))
        metrics = _metrics(metrics_address)
    finally:
        service.terminate()
        service.wait(timeout=30)

    assert {r.code for r in results} == {0}

    def value(name: str, **labels: str) -> float:
        return metrics.get((name, tuple(sorted(labels.items()))), 0.0)

    prefix = "heap_destination_"
    assert value(prefix + "events_received_total", kind="track", via="unary") == 6
    assert value(prefix + "events_received_total", kind="identify", via="unary") == 1
    assert value(prefix + "events_received_total", kind="track", via="stream") == 200
    assert value(prefix + "events_delivered_total", kind="track") == 205
    assert value(prefix + "events_delivered_total", kind="identify") == 1
    assert value(prefix + "events_failed_total", kind="track", reason="INVALID_EVENT") == 1
    assert value(prefix + "property_warnings_total", reason="VALUE_TRUNCATED") == 1
    assert value(prefix + "property_warnings_total", reason="RESERVED_KEY_OMITTED") == 1
    assert value(prefix + "bulk_request_size_sum", endpoint="/api/track") == 205
    assert value(prefix + "heap_responses_total", endpoint="/api/track", status="500") == 1
    assert value(prefix + "heap_retries_total", endpoint="/api/track") == 1
    assert value(prefix + "in_flight_events") == 0
    assert value(prefix + "queue_depth") == 0
    assert [name for name, _ in metrics if name.endswith("_created")] == []

    log = "".join(service.lines)
    for secret in (TOKEN, PROPERTY_SECRET, TRAIT_SECRET, "x" * 100):
        assert secret not in log
    lines = [json.loads(line) for line in service.lines]
    calls = [line for line in lines if line["message"] == "call finished"]
    assert len(calls) == 8  # 5 tracks, 1 identify, 1 refused track, 1 stream
    assert {line["request_id"] for line in calls} == {"req-42"}


def test_text_logs_carry_the_call_fields_and_no_values(simulator: str) -> None:
    service = start_service(
        free_address(),
        simulator,
        *("--log-format", "text"),
        env={"HEAP_DESTINATION_TOKENS": json.dumps([{"token": TOKEN}])},
    )
    try:
        with _client(service.address()) as client:
            client.track("Paid", user_id="u1", properties={"note": PROPERTY_SECRET})
    finally:
        service.terminate()
        service.wait(timeout=30)

    [finished] = [line for line in service.lines if " call finished " in line]
    assert "method=/heap_destination.v1.HeapDestinationService/TrackEvent" in finished
    assert " code=OK " in finished
    assert " request_id=req-42 " in finished
    assert " duration_ms=" in finished
    for secret in (TOKEN, PROPERTY_SECRET):
        assert secret not in "".join(service.lines)


@pytest.mark.slow
def test_stored_mode_metrics_show_the_backlog_and_dead_letters_and_logs_hold_no_values(
    simulator: str, tmp_path: Path
) -> None:
    metrics_address = free_address()
    service = start_service(
        free_address(),
        simulator,
        *("--store", f"sqlite:{tmp_path / 'store.db'}", "--ack-mode", "stored"),
        *("--metrics-listen", metrics_address, "--log-level", "debug"),
    )
    inject_fault(simulator, status=400, probability=1.0, body_contains="poisoned")
    try:
        with HeapDestinationClient(service.address(), app_id=APP_ID) as client:
            for n in range(9):
                client.track("Paid", user_id="u1", properties={"note": PROPERTY_SECRET, "n": n})
            client.track("Paid", user_id="poisoned", properties={"note": PROPERTY_SECRET})
            client.identify(user_id="u1", traits={"secret": TRAIT_SECRET})

        def metric(name: str, **labels: str) -> float:
            return _metrics(metrics_address).get((name, tuple(sorted(labels.items()))), 0.0)

        prefix = "heap_destination_"
        wait_until(lambda: metric(prefix + "dead_letters_total", kind="track") == 1, 20, 0.2)
        wait_until(lambda: metric(prefix + "events_delivered_total", kind="track") == 9, 20, 0.2)
        backlog = (prefix + "stored_backlog_events", (("app_id", APP_ID),))
        # The gauge appears at the store monitor's first look (every 5 s) and stays while
        # the app delivered in the last minute: present, and 0 once all is delivered.
        wait_until(lambda: _metrics(metrics_address).get(backlog) == 0, 20, 0.2)
        assert metric(prefix + "events_stored_total", kind="track") == 10
        assert metric(prefix + "events_stored_total", kind="identify") == 1
        assert metric(prefix + "store_reachable") == 1
        assert metric(prefix + "store_commit_duration_seconds_count") == 11
    finally:
        service.terminate()
        service.wait(timeout=30)

    log = "".join(service.lines)
    assert "dead-lettered" in log
    for secret in (PROPERTY_SECRET, TRAIT_SECRET):
        assert secret not in log


def test_health_turns_not_serving_while_draining_on_sigterm(simulator: str) -> None:
    inject_fault(simulator, latency_ms=3000, count=1)
    service = start_service(free_address(), simulator)
    target = service.address()
    slow_call = threading.Thread(
        target=lambda: HeapDestinationClient(target, app_id=APP_ID).track("Slow", user_id="u1")
    )
    try:
        with grpc.insecure_channel(target) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            assert _status(health) == health_pb2.HealthCheckResponse.SERVING
            slow_call.start()
            # The fault is used up once the slow call's request is being held by it.
            wait_until(lambda: faults(simulator) == [], timeout=10, interval=0.01)
            service.terminate()
            seen = _status_until_not_serving(health)
        slow_call.join(timeout=30)
        exit_code = service.wait(timeout=30)
    finally:
        service.stop()

    assert seen == health_pb2.HealthCheckResponse.NOT_SERVING
    assert exit_code == 0


def _status(health: health_pb2_grpc.HealthStub) -> int:
    return health.Check(health_pb2.HealthCheckRequest(), timeout=5).status  # type: ignore[no-any-return]


def _status_until_not_serving(health: health_pb2_grpc.HealthStub) -> int:
    status = _status(health)
    give_up = time.monotonic() + 5
    while status == health_pb2.HealthCheckResponse.SERVING and time.monotonic() < give_up:
        time.sleep(0.05)
        status = _status(health)
    return status


def test_reflection_lists_the_service_for_generic_tools(simulator: str) -> None:
    service = start_service(free_address(), simulator)
    try:
        with grpc.insecure_channel(service.address()) as channel:
            services = ProtoReflectionDescriptorDatabase(channel).get_services()
        listed = None
        if BUF.exists():
            listed = subprocess.run(
                [
                    str(BUF),
                    "curl",
                    "--protocol",
                    "grpc",
                    "--http2-prior-knowledge",
                    *("--reflect-protocol", "grpc-v1"),
                    "--list-methods",
                    f"http://{service.address()}",
                ],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            ).stdout
    finally:
        service.stop()

    assert "heap_destination.v1.HeapDestinationService" in services
    if listed is not None:
        assert "heap_destination.v1.HeapDestinationService/StreamEvents" in listed


def test_two_workers_serve_one_port_from_two_processes(simulator: str) -> None:
    service = Process(
        [
            COMMAND,
            "serve",
            "--listen",
            free_address(),
            "--base-url",
            simulator,
            "--workers",
            "2",
            "--metrics-listen",
            # Port 0: each worker serves its metrics on a free port of its own (port N
            # would give worker 1 port N + 1, which another process may hold).
            "127.0.0.1:0",
        ],
        "started 2 workers",
    )
    try:
        target = service.address("workers")
        _wait_for_two_listeners(service)
        metrics_address, second_metrics = metrics_addresses(service)
        for n in range(40):
            with client_on_a_new_connection(target) as client:
                client.track("Spread", user_id=f"u{n}")
        scraped = [_metrics(address) for address in (metrics_address, second_metrics)]
        received = [
            metrics.get(
                ("heap_destination_events_received_total", (("kind", "track"), ("via", "unary"))),
                0.0,
            )
            for metrics in scraped
        ]
        calls = [
            sum(
                value
                for (name, labels), value in metrics.items()
                if name == "grpc_server_call_duration_seconds_count"
                and ("grpc_method", f"{SERVICE}/TrackEvent") in labels
                and ("grpc_status", "OK") in labels
            )
            for metrics in scraped
        ]
        service.terminate()
        exit_code = service.wait(timeout=30)
    finally:
        service.stop()

    assert sum(received) == 40
    assert all(count > 0 for count in received), received
    assert calls == received  # each worker counts the calls it answered
    assert exit_code == 0


def client_on_a_new_connection(target: str) -> HeapDestinationClient:
    """A client whose channel opens a connection of its own: by default gRPC shares one
    between channels to the same target while it lives, which a busy machine can stretch
    over every call, so that one worker gets them all."""
    options = [("grpc.use_local_subchannel_pool", 1)]
    channel = grpc.insecure_channel(target, options=options)
    return HeapDestinationClient(target, app_id=APP_ID, channel=channel)


def metrics_addresses(service: Process) -> list[str]:
    """The host:port of each worker's metrics endpoint, in the order they started."""
    return re.findall(r"metrics on http://([\w.\[\]:]+)/metrics", "".join(service.lines))


def _wait_for_two_listeners(service: Process) -> None:
    give_up = time.monotonic() + 30
    while sum("service listening" in line for line in service.lines) < 2:
        assert time.monotonic() < give_up, "".join(service.lines)
        time.sleep(0.05)
