"""gRPC's own per-call metrics (gRFC A66) on the service's /metrics.

grpcio-observability records every call in gRPC core, so a call refused by the
interceptors (UNAUTHENTICATED, INVALID_ARGUMENT) counts with its real code; OpenTelemetry's
Prometheus reader adds them to the registry that /metrics serves, as
grpc_server_call_started_total{grpc_method} and
grpc_server_call_duration_seconds{grpc_method, grpc_status} (with the sizes of what each
call received and sent). A method the server does not serve counts as grpc_method="other",
so unknown names cannot add series.
"""

import contextlib
import functools
from collections.abc import Iterator

import grpc_observability  # type: ignore[import-untyped]
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.view import DropAggregation, ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import SERVICE_NAME, Resource

# gRFC A66's boundaries: seconds for durations, bytes for sizes (the SDK's default
# boundaries, 0 to 10,000, would put every call in one bucket). Floats, so that `le` reads
# as in prometheus_client's own histograms ("1.0", not "1").
LATENCY_BUCKETS = tuple(float(bound) for bound in (
    0, 0.00001, 0.00005, 0.0001, 0.0003, 0.0006, 0.0008, 0.001, 0.002, 0.003, 0.004,
    0.005, 0.006, 0.008, 0.01, 0.013, 0.016, 0.02, 0.025, 0.03, 0.04, 0.05, 0.065, 0.08,
    0.1, 0.13, 0.16, 0.2, 0.25, 0.3, 0.4, 0.5, 0.65, 0.8, 1, 2, 5, 10, 20, 50, 100,
))  # fmt: skip
SIZE_BUCKETS = tuple(float(bound) for bound in (
    0, 1024, 2048, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
    268435456, 1073741824, 4294967296,
))  # fmt: skip


@contextlib.contextmanager
def recording_grpc_calls(enabled: bool) -> Iterator[None]:
    """While open (and `enabled`), gRPC records the calls this process serves.

    Open it before the server is created and close it before the process exits: gRPC's
    recording thread is not a daemon, and closing it stops that thread.
    """
    if not enabled:
        yield
        return
    with grpc_observability.OpenTelemetryPlugin(meter_provider=_meter_provider()):
        yield


@functools.cache
def _meter_provider() -> MeterProvider:
    """One per process: its reader adds itself to the Prometheus registry when made."""
    return MeterProvider(
        metric_readers=[PrometheusMetricReader()],
        resource=Resource.create({SERVICE_NAME: "heap-destination"}),
        views=[
            View(
                instrument_name="grpc.server.call.duration",
                aggregation=ExplicitBucketHistogramAggregation(LATENCY_BUCKETS),
            ),
            View(
                instrument_name="grpc.server.call.*_size",
                aggregation=ExplicitBucketHistogramAggregation(SIZE_BUCKETS),
            ),
            # The service's own outgoing calls are not what its callers see.
            View(instrument_name="grpc.client.*", aggregation=DropAggregation()),
        ],
    )
