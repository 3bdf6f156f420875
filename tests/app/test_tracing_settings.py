"""Tracing is configured by the standard OTEL_* variables, and off unless they ask."""

import pytest

from heap_destination.app.options import SettingsError
from heap_destination.app.tracing import tracer_provider_from_env

ENDPOINT = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317"}


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"OTEL_SERVICE_NAME": "x"},
        {**ENDPOINT, "OTEL_SDK_DISABLED": "true"},
        {**ENDPOINT, "OTEL_TRACES_EXPORTER": "none"},
    ],
)
def test_tracing_is_off_unless_an_exporter_is_configured(env: dict[str, str]) -> None:
    assert tracer_provider_from_env(env) is None


@pytest.mark.parametrize(
    "env",
    [
        ENDPOINT,
        {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4317"},
        {"OTEL_TRACES_EXPORTER": "otlp"},
    ],
)
def test_an_otlp_endpoint_or_exporter_turns_it_on(env: dict[str, str]) -> None:
    provider = tracer_provider_from_env({**env, "OTEL_SERVICE_NAME": "edge-destination"})

    assert provider is not None
    assert provider.resource.attributes["service.name"] == "edge-destination"
    provider.shutdown()


def test_the_service_name_defaults_to_heap_destination() -> None:
    provider = tracer_provider_from_env(ENDPOINT)

    assert provider is not None
    assert provider.resource.attributes["service.name"] == "heap-destination"
    provider.shutdown()


@pytest.mark.parametrize(
    "protocols",
    [
        {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
        {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
        {"OTEL_EXPORTER_OTLP_PROTOCOL": "zipkin", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"},
    ],
)
def test_both_otlp_protocols_are_taken(protocols: dict[str, str]) -> None:
    provider = tracer_provider_from_env({**ENDPOINT, **protocols})

    assert provider is not None
    provider.shutdown()


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER"),
        (
            {**ENDPOINT, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ),
        (
            {**ENDPOINT, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "zipkin"},
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        ),
    ],
)
def test_what_it_cannot_export_to_is_a_settings_error(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        tracer_provider_from_env(env)
