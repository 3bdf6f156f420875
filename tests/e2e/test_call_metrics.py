"""gRPC's per-call metrics on a running service's /metrics: calls by method and code,
including calls the interceptors refuse, streams, health checks and unknown methods."""

import json
import threading
from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from heap_destination.client import HeapDestinationClient, in_messages, track_event
from heap_destination.v1 import config_pb2, service_pb2_grpc, stream_pb2
from tests.support import http_client
from tests.support.processes import Process, free_address, start_service
from tests.support.wait import wait_until

APP_ID = "1234567890"
TOKEN = "token-call-metrics-3f9a"
SERVICE = "heap_destination.v1.HeapDestinationService"
TRACK = f"{SERVICE}/TrackEvent"
STREAM = f"{SERVICE}/StreamEvents"
HEALTH_CHECK = "grpc.health.v1.Health/Check"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def service(simulator: str) -> Iterator[tuple[Process, str]]:
    """A service process with tokens and metrics: (process, metrics address)."""
    metrics_address = free_address()
    process = start_service(
        free_address(),
        simulator,
        "--metrics-listen",
        metrics_address,
        env={"HEAP_DESTINATION_TOKENS": json.dumps([{"token": TOKEN}])},
    )
    try:
        yield process, metrics_address
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0


def _samples(metrics_address: str) -> Samples:
    text = http_client.get(f"http://{metrics_address}/metrics").text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    """The sample of `name` whose labels include `labels` (OpenTelemetry adds its scope's)."""
    wanted = set(labels.items())
    found = [value for (n, have), value in samples.items() if n == name and wanted <= have]
    assert len(found) <= 1, f"{name}{labels} matches {len(found)} series"
    return found[0] if found else 0.0


def _calls(samples: Samples, method: str, status: str) -> float:
    return _value(
        samples, "grpc_server_call_duration_seconds_count", grpc_method=method, grpc_status=status
    )


def test_calls_are_counted_by_method_and_code(service: tuple[Process, str]) -> None:
    process, metrics_address = service
    target = process.address()
    with HeapDestinationClient(target, app_id=APP_ID, token=TOKEN) as client:
        client.track("Signed Up", user_id="u1")
        with pytest.raises(grpc.RpcError) as invalid:
            client.track("", user_id="u1")
        events = (track_event(str(i), "Streamed", user_id=f"u{i}") for i in range(20))
        results = list(client.stream(in_messages(events, 10)))
    with HeapDestinationClient(target, app_id=APP_ID) as anonymous:
        with pytest.raises(grpc.RpcError) as refused:
            anonymous.track("Signed Up", user_id="u1")
    with grpc.insecure_channel(target) as channel:
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        with pytest.raises(grpc.RpcError) as unknown:
            channel.unary_unary("/no.such.Service/Method")(b"")
    assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert unknown.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert {result.code for result in results} == {0}

    # A call is recorded as its handler ends; poll rather than depend on exactly when.
    samples: Samples = {}

    def all_recorded() -> bool:
        nonlocal samples
        samples = _samples(metrics_address)
        return (
            _calls(samples, "other", "UNIMPLEMENTED") == 1
            and _calls(samples, HEALTH_CHECK, "OK") == 1
        )

    wait_until(all_recorded, timeout=10, interval=0.1)

    assert _value(samples, "grpc_server_call_started_total", grpc_method=TRACK) == 3
    assert _calls(samples, TRACK, "OK") == 1
    assert _calls(samples, TRACK, "INVALID_ARGUMENT") == 1
    assert _calls(samples, TRACK, "UNAUTHENTICATED") == 1
    assert _value(samples, "grpc_server_call_started_total", grpc_method=STREAM) == 1
    assert _calls(samples, STREAM, "OK") == 1
    sum_ok = "grpc_server_call_duration_seconds_sum"
    assert _value(samples, sum_ok, grpc_method=TRACK, grpc_status="OK") > 0
    # gRFC A66's latency boundaries (seconds), not the SDK's default ones (0 to 10,000).
    bounds = {
        dict(labels)["le"]
        for name, labels in samples
        if name == "grpc_server_call_duration_seconds_bucket"
    }
    assert {"1e-05", "0.001", "0.25", "1.0", "100.0", "+Inf"} <= bounds
    assert len(bounds) == 42
    names = {name for name, _ in samples}
    assert not {name for name in names if name.startswith("grpc_client_")}
    assert not {name for name in names if name.endswith("_created")}
    # A method the server does not serve is "other": callers cannot add series.
    methods = {value for _, labels in samples for key, value in labels if key == "grpc_method"}
    assert methods == {TRACK, STREAM, HEALTH_CHECK, "other"}


def test_a_stream_the_caller_cancels_ends_cancelled(service: tuple[Process, str]) -> None:
    process, metrics_address = service
    config = config_pb2.DestinationConfig(app_id=APP_ID)
    first = next(in_messages([track_event("1", "Streamed", user_id="u1")], config=config))
    cancelled = threading.Event()

    def messages() -> Iterator[stream_pb2.StreamEventsRequest]:
        yield first
        cancelled.wait(timeout=30)

    with grpc.insecure_channel(process.address()) as channel:
        stub = service_pb2_grpc.HeapDestinationServiceStub(channel)
        responses = stub.StreamEvents(messages(), metadata=(("authorization", f"Bearer {TOKEN}"),))
        assert [result.code for result in next(responses).results] == [0]
        responses.cancel()
        cancelled.set()

    wait_until(
        lambda: _calls(_samples(metrics_address), STREAM, "CANCELLED") == 1,
        timeout=10,
        interval=0.1,
    )
    assert _calls(_samples(metrics_address), STREAM, "OK") == 0
