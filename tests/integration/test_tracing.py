"""OpenTelemetry spans through a real server, to the simulator, into an in-memory exporter."""

import json
import logging
from collections.abc import Callable, Iterator

import grpc
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from heap_destination.app.logs import JsonFormatter
from heap_destination.client import HeapDestinationClient, in_messages, track_event
from heap_destination.sim import HeapSimulator
from heap_destination.v1 import track_pb2
from tests.conftest import APP_ID
from tests.support import http_client
from tests.support.background_service import BackgroundService

# A caller's trace, as a W3C traceparent header carries it.
CALLER_TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
CALLER_SPAN_ID = 0x00F067AA0BA902B7
TRACEPARENT = f"00-{CALLER_TRACE_ID:032x}-{CALLER_SPAN_ID:016x}-01"


@pytest.fixture
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def _named(finished: tuple[ReadableSpan, ...], prefix: str) -> list[ReadableSpan]:
    return [span for span in finished if span.name.startswith(prefix)]


def test_a_unary_call_is_a_span_linked_from_its_heap_request(
    simulator: HeapSimulator,
    start_service: Callable[..., BackgroundService],
    spans: tuple[TracerProvider, InMemorySpanExporter],
    caplog: pytest.LogCaptureFixture,
) -> None:
    provider, exporter = spans
    service = start_service(base_url=simulator.url, tracing=provider)
    caplog.handler.setFormatter(JsonFormatter())
    caplog.set_level(logging.INFO)

    with grpc.insecure_channel(service.target) as channel:
        from heap_destination.v1 import service_pb2_grpc

        stub = service_pb2_grpc.HeapDestinationServiceStub(channel)
        stub.TrackEvent(
            track_pb2.TrackEventRequest(config={"app_id": APP_ID}, user_id="u1", event="Signed Up"),
            metadata=(("traceparent", TRACEPARENT),),
            timeout=10,
        )

    finished = exporter.get_finished_spans()
    [call] = _named(finished, "/heap_destination.v1.HeapDestinationService/TrackEvent")
    [request] = _named(finished, "Heap /api/track")
    [attempt] = [s for s in finished if s.kind == trace.SpanKind.CLIENT]
    assert call.kind == trace.SpanKind.SERVER
    assert call.context.trace_id == CALLER_TRACE_ID
    assert call.parent is not None and call.parent.span_id == CALLER_SPAN_ID
    assert [link.context for link in request.links] == [call.context]
    assert request.parent is None
    assert attempt.parent is not None and attempt.parent.span_id == request.context.span_id
    assert attempt.attributes is not None
    # The instrumentation's default (old) HTTP conventions name it http.status_code.
    assert attempt.attributes.get("http.status_code") == 200
    logged = [json.loads(line) for line in caplog.text.splitlines()]
    [finished_line] = [line for line in logged if line["message"] == "call finished"]
    assert finished_line["trace_id"] == f"{CALLER_TRACE_ID:032x}"
    assert finished_line["span_id"] == f"{call.context.span_id:016x}"


def test_a_stream_is_one_span_linked_once_from_each_bulk_request(
    simulator: HeapSimulator,
    start_service: Callable[..., BackgroundService],
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = spans
    service = start_service(base_url=simulator.url, tracing=provider)
    events = [track_event(f"e-{n}", "Viewed", user_id=f"u{n % 50}") for n in range(3000)]

    with HeapDestinationClient(service.target, app_id=APP_ID, timeout=30) as client:
        results = list(client.stream(in_messages(events, per_message=500), timeout=60))

    assert {r.code for r in results} == {0}
    finished = exporter.get_finished_spans()
    [call] = _named(finished, "/heap_destination.v1.HeapDestinationService/StreamEvents")
    requests = _named(finished, "Heap /api/track")
    assert len(requests) >= 3
    assert all([link.context for link in r.links] == [call.context] for r in requests)
    assert all(r.parent is None for r in requests)


def test_a_segment_http_request_is_a_server_span_in_the_callers_trace(
    simulator: HeapSimulator,
    start_service: Callable[..., BackgroundService],
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = spans
    service = start_service(base_url=simulator.url, app_id=APP_ID, tracing=provider, http=True)
    body = {"batch": [{"type": "track", "event": "E", "userId": "u1", "messageId": "m1"}]}

    answer = http_client.post(
        f"{service.http_url}/v1/batch",
        json=body,
        headers={"traceparent": TRACEPARENT},
        auth=("key", ""),
    )
    missing = http_client.post(f"{service.http_url}/v1/batch", content=b"[")

    assert (answer.status_code, missing.status_code) == (200, 400)
    first, second = _named(exporter.get_finished_spans(), "POST /v1/batch")
    assert first.kind is trace.SpanKind.SERVER
    assert first.parent is not None and first.parent.trace_id == CALLER_TRACE_ID
    assert first.attributes is not None and second.attributes is not None
    assert first.attributes["http.response.status_code"] == 200
    assert second.attributes["http.response.status_code"] == 400
