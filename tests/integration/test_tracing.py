"""OpenTelemetry spans through a real server, to the simulator, into an in-memory exporter
and, over OTLP/HTTP, into a local stand-in for a collector."""

import asyncio
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator

import grpc
import pytest
from aiohttp import web
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from heap_destination.app.logs import JsonFormatter
from heap_destination.app.tracing import tracer_provider_from_env
from heap_destination.client import HeapDestinationClient, in_messages, track_event
from heap_destination.sim import HeapSimulator
from heap_destination.v1 import track_pb2
from tests.conftest import APP_ID
from tests.support import http_client
from tests.support.background_service import BackgroundService
from tests.support.wait import wait_until

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
    # OpenTelemetry's stable HTTP semantic conventions.
    assert attempt.attributes.get("http.request.method") == "POST"
    assert attempt.attributes.get("url.full") == f"{simulator.url}/api/track"
    assert attempt.attributes.get("server.port") == int(simulator.url.rsplit(":", 1)[1])
    assert attempt.attributes.get("http.response.status_code") == 200
    assert "http.status_code" not in attempt.attributes
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


class _Collector:
    """Takes OTLP/HTTP exports (POST /v1/traces, protobuf) on a free port, in a thread of
    its own, and keeps each span's name and its resource's service name."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, str]] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._runner = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    async def _start(self) -> web.AppRunner:
        app = web.Application()
        app.router.add_post("/v1/traces", self._export)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return runner

    async def _export(self, request: web.Request) -> web.Response:
        assert request.content_type == "application/x-protobuf"
        exported = ExportTraceServiceRequest.FromString(await request.read())
        for resource_spans in exported.resource_spans:
            [service] = [
                a.value.string_value
                for a in resource_spans.resource.attributes
                if a.key == "service.name"
            ]
            for scope_spans in resource_spans.scope_spans:
                self.spans += [(span.name, service) for span in scope_spans.spans]
        return web.Response(
            body=ExportTraceServiceResponse().SerializeToString(),
            content_type="application/x-protobuf",
        )

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


def test_spans_go_to_a_collector_over_otlp_http_protobuf(
    simulator: HeapSimulator,
    start_service: Callable[..., BackgroundService],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    collector = _Collector()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    # The SDK's exporter appends /v1/traces to the base endpoint.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url)
    provider = tracer_provider_from_env(os.environ)
    assert provider is not None
    try:
        service = start_service(base_url=simulator.url, tracing=provider)
        with HeapDestinationClient(service.target, app_id=APP_ID, timeout=10) as client:
            client.track("Signed Up", user_id="u1")
        wanted = {
            ("/heap_destination.v1.HeapDestinationService/TrackEvent", "heap-destination"),
            ("Heap /api/track", "heap-destination"),
            ("POST", "heap-destination"),
        }
        wait_until(lambda: provider.force_flush() and wanted <= set(collector.spans), 20, 0.05)
    finally:
        provider.shutdown()
        collector.stop()

    assert len(collector.spans) == 3
