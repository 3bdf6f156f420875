"""Per-call metrics under gRPC's own names (gRFC A66), on the service's /metrics.

An interceptor outside all others records each call with OpenTelemetry; its Prometheus
reader adds them to the registry /metrics serves, as grpc_server_call_started_total
{grpc_method} and grpc_server_call_duration_seconds{grpc_method, grpc_status}. Being
outermost, it sees the code a call ended with, including UNAUTHENTICATED and
INVALID_ARGUMENT from the interceptors inside it. A method the server does not serve is
grpc_method="other", so callers cannot add series.

gRPC's own recorder (grpcio-observability 1.85.0) is not used: with 16 unary calls in
flight, the asyncio server answered about 830 and then none (its recording thread builds
Python objects while it holds the lock that recording each call's end takes), and it
needs grpcio 1.85.0.
"""

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import Counter, Histogram
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import SERVICE_NAME, Resource

UNKNOWN_METHOD = "other"

# gRFC A66's boundaries in seconds (the SDK's defaults, 0 to 10,000, would put every call
# in one bucket). Floats, so that `le` reads as in prometheus_client's histograms ("1.0").
LATENCY_BUCKETS = tuple(float(bound) for bound in (
    0, 0.00001, 0.00005, 0.0001, 0.0003, 0.0006, 0.0008, 0.001, 0.002, 0.003, 0.004,
    0.005, 0.006, 0.008, 0.01, 0.013, 0.016, 0.02, 0.025, 0.03, 0.04, 0.05, 0.065, 0.08,
    0.1, 0.13, 0.16, 0.2, 0.25, 0.3, 0.4, 0.5, 0.65, 0.8, 1, 2, 5, 10, 20, 50, 100,
))  # fmt: skip

_CODE_NAMES: dict[int, str] = {code.value[0]: code.name for code in grpc.StatusCode}


class CallMetricsInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Counts each call as it starts, and its duration and code as it ends."""

    def __init__(self) -> None:
        meter = _meter_provider().get_meter("heap_destination.grpc")
        self._started = meter.create_counter(
            "grpc.server.call.started", unit="{call}", description="Server calls started."
        )
        self._duration = meter.create_histogram(
            "grpc.server.call.duration",
            unit="s",
            description="Time from a call's start to its end, by method and status code.",
            explicit_bucket_boundaries_advisory=LATENCY_BUCKETS,
        )
        self._recorders: dict[str, _Recorder] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        started = time.perf_counter()
        handler = await continuation(details)
        if handler is None:  # gRPC answers UNIMPLEMENTED
            self._started.add(1, {"grpc.method": UNKNOWN_METHOD})
            self._duration.record(
                time.perf_counter() - started,
                {"grpc.method": UNKNOWN_METHOD, "grpc.status": "UNIMPLEMENTED"},
            )
            return None
        recorder = self._recorders.get(details.method)
        if recorder is None:  # one per method the server serves: a bounded number
            recorder = _Recorder(details.method[1:], self._started, self._duration)
            self._recorders[details.method] = recorder
        return _measured(handler, recorder)


class _Recorder:
    """One method's records; the attribute sets are made once, not per call."""

    def __init__(self, method: str, started: Counter, duration: Histogram) -> None:
        self._method = {"grpc.method": method}
        self._by_code: dict[str, dict[str, str]] = {}
        self._started = started
        self._duration = duration

    def start(self) -> float:
        self._started.add(1, self._method)
        return time.perf_counter()

    def end(
        self, started: float, context: grpc.aio.ServicerContext, error: BaseException | None
    ) -> None:
        code = _code_name(context, error)
        attributes = self._by_code.get(code)
        if attributes is None:
            attributes = self._by_code[code] = {**self._method, "grpc.status": code}
        self._duration.record(time.perf_counter() - started, attributes)


def _code_name(context: grpc.aio.ServicerContext, error: BaseException | None) -> str:
    if isinstance(error, asyncio.CancelledError | GeneratorExit):  # the caller went away
        return "CANCELLED"
    code = context.code()
    if code is None:
        return "OK" if error is None else "UNKNOWN"
    # A StatusCode once the call set one; its number when a servicer set a plain int.
    return str(code.name if isinstance(code, grpc.StatusCode) else _CODE_NAMES.get(code, "UNKNOWN"))


def _measured(handler: grpc.RpcMethodHandler, recorder: _Recorder) -> grpc.RpcMethodHandler:
    """`handler` with `recorder` told of each call's start and end."""

    def answering(
        behaviour: Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]],
    ) -> Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]:
        async def answer(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = recorder.start()
            try:
                response = await behaviour(request, context)
            except BaseException as error:
                recorder.end(started, context, error)
                raise
            recorder.end(started, context, None)
            return response

        return answer

    def streaming(
        behaviour: Callable[[Any, grpc.aio.ServicerContext], AsyncIterator[Any]],
    ) -> Callable[[Any, grpc.aio.ServicerContext], AsyncIterator[Any]]:
        async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            started = recorder.start()
            try:
                async for response in behaviour(request, context):
                    yield response
            except BaseException as error:
                recorder.end(started, context, error)
                raise
            recorder.end(started, context, None)

        return stream

    deserialize, serialize = handler.request_deserializer, handler.response_serializer
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(
            answering(handler.unary_unary), deserialize, serialize
        )
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(
            answering(handler.stream_unary), deserialize, serialize
        )
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(
            streaming(handler.unary_stream), deserialize, serialize
        )
    return grpc.stream_stream_rpc_method_handler(
        streaming(handler.stream_stream), deserialize, serialize
    )


@functools.cache
def _meter_provider() -> MeterProvider:
    """One per process: its reader adds itself to the Prometheus registry when made."""
    return MeterProvider(
        metric_readers=[PrometheusMetricReader()],
        resource=Resource.create({SERVICE_NAME: "heap-destination"}),
    )
