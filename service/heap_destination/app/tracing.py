"""OpenTelemetry tracing, configured by the standard OTEL_* environment variables.

Off unless an OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT or
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or OTEL_TRACES_EXPORTER=otlp is set, and off when
OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. The protocol is the SDK's choice of
exporter: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL, `grpc` (the
default) or `http/protobuf`. The exporter reads the rest of its settings (endpoint,
headers, certificates, compression, timeout) from the same variables itself;
OTEL_SERVICE_NAME defaults to heap-destination.
"""

from collections.abc import Mapping

from opentelemetry.environment_variables import OTEL_TRACES_EXPORTER
from opentelemetry.sdk.environment_variables import (
    OTEL_EXPORTER_OTLP_ENDPOINT,
    OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
    OTEL_SDK_DISABLED,
    OTEL_SERVICE_NAME,
)
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from heap_destination.app.options import SettingsError

DEFAULT_SERVICE_NAME = "heap-destination"
PROTOCOLS = ("grpc", "http/protobuf")


def tracer_provider_from_env(env: Mapping[str, str]) -> TracerProvider | None:
    """A provider exporting over OTLP, or None when tracing is not configured."""
    if env.get(OTEL_SDK_DISABLED, "").strip().lower() == "true":
        return None
    exporter = env.get(OTEL_TRACES_EXPORTER, "").strip().lower()
    endpoint = env.get(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or env.get(OTEL_EXPORTER_OTLP_ENDPOINT)
    if exporter == "none" or (not exporter and not endpoint):
        return None
    if exporter not in ("", "otlp"):
        raise SettingsError(f"{OTEL_TRACES_EXPORTER}: {exporter!r} is not supported; use otlp")
    variable = (
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL
        if env.get(OTEL_EXPORTER_OTLP_TRACES_PROTOCOL)
        else OTEL_EXPORTER_OTLP_PROTOCOL
    )
    protocol = env.get(variable, "").strip().lower() or "grpc"
    if protocol not in PROTOCOLS:
        raise SettingsError(
            f"{variable}: {protocol!r} is not supported; use {' or '.join(PROTOCOLS)}"
        )
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: env.get(OTEL_SERVICE_NAME, DEFAULT_SERVICE_NAME)})
    )
    provider.add_span_processor(BatchSpanProcessor(_otlp_exporter(protocol)))
    return provider


def _otlp_exporter(protocol: str) -> SpanExporter:
    """The SDK's exporter for `protocol`, imported only when chosen (each pulls in its own
    transport: grpc, or requests)."""
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter as HttpSpanExporter,
        )

        return HttpSpanExporter()
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()
