"""A careless or hostile caller of what this version added: account updates, per-event
configs in streams, trace headers. Every bad value is INVALID_ARGUMENT naming the field,
never UNKNOWN, and one bad event never ends a stream."""

from collections import Counter
from collections.abc import Callable

import grpc
import pytest
from google.rpc import code_pb2
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from heap_destination.client import HeapDestinationClient, account_event, error_details
from heap_destination.client import in_messages as messages_of
from heap_destination.sim import HeapSimulator
from heap_destination.v1 import account_pb2, errors_pb2, service_pb2_grpc, stream_pb2, track_pb2
from tests.conftest import APP_ID
from tests.support.background_service import BackgroundService
from tests.support.protobuf_bytes import field, nested_struct
from tests.support.simulator_api import accepted, account_updates, tracked_events
from tests.support.streaming import stream

ACCOUNT_METHOD = "/heap_destination.v1.HeapDestinationService/UpdateAccount"
INTERNAL_WORDS = ("upb", "DecodeError", "Traceback", "Unexpected", "MaxDepth")
CONFIG_BYTES = field(1, field(1, APP_ID.encode()))  # config.app_id


@pytest.mark.parametrize(
    ("request_bytes", "problem"),
    [
        (b"\xff\xff\xff\xff", "cannot be decoded"),
        (CONFIG_BYTES + field(2, b"\xff\xfe"), "cannot be decoded"),  # account_id not UTF-8
        (CONFIG_BYTES + field(2, b"acme") + field(3, nested_struct(40)), "nests too deeply"),
    ],
)
def test_account_bytes_that_cannot_be_decoded_are_invalid_argument(
    service: BackgroundService, simulator: HeapSimulator, request_bytes: bytes, problem: str
) -> None:
    with grpc.insecure_channel(service.target) as channel:
        call = channel.unary_unary(ACCOUNT_METHOD, request_serializer=None)
        with pytest.raises(grpc.RpcError) as raised:
            call(request_bytes, timeout=10)

    details = error_details(raised.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.reason == "INVALID_EVENT"
    assert problem in details.field_violations["request"]
    assert not any(word in details.message for word in INTERNAL_WORDS), details.message
    assert accepted(simulator.url) == []


def test_a_huge_account_id_is_refused_with_a_short_answer(
    client: HeapDestinationClient, simulator: HeapSimulator
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        client.update_account(account_id="a" * 1_000_000, properties={"plan": "pro"})

    details = error_details(raised.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert list(details.field_violations) == ["account_id"]
    assert len(details.message) < 2_000
    assert accepted(simulator.url) == []


def test_an_account_nested_past_the_limit_fails_alone_in_its_stream(
    client: HeapDestinationClient, simulator: HeapSimulator
) -> None:
    deep = stream_pb2.Event(
        id="deep",
        account=account_pb2.UpdateAccountRequest(account_id="deep-co"),
    )
    deep.account.properties.MergeFromString(nested_struct(25))
    events = [
        account_event("before", account_id="a1", properties={"n": 1}),
        deep,
        account_event("after", account_id="a2", properties={"n": 2}),
    ]

    results = {r.id: r for r in client.stream(messages_of(events))}

    assert results["deep"].code == code_pb2.INVALID_ARGUMENT
    assert results["deep"].error_reason == errors_pb2.ERROR_REASON_INVALID_EVENT
    [violation] = results["deep"].field_violations
    assert violation.field.startswith("properties.a.a") and "20 levels" in violation.description
    assert {results["before"].code, results["after"].code} == {code_pb2.OK}
    assert sorted(u["account_id"] for u in account_updates(simulator.url)) == ["a1", "a2"]


def test_a_stream_of_many_distinct_per_event_configs_reaches_each_app(
    service: BackgroundService, simulator: HeapSimulator
) -> None:
    # More distinct configs than a stream remembers, each seen twice, some of them bad.
    apps = [str(1000 + n) for n in range(150)]
    events = []
    for round_ in range(2):
        for n, app_id in enumerate(apps):
            event = stream_pb2.Event(id=f"{round_}-{n}")
            event.track.user_id = f"u{n}"
            event.track.event = "Viewed"
            event.track.config.app_id = app_id if n % 10 else f"bad {app_id}"
            events.append(event)

    results = {r.id: r for r in stream(service.target, messages_of(events, 100))}

    bad = {i for i, r in results.items() if r.code != code_pb2.OK}
    assert bad == {f"{r}-{n}" for r in range(2) for n in range(0, 150, 10)}
    assert {results[i].field_violations[0].field for i in bad} == {"config.app_id"}
    delivered = Counter(e["app_id"] for e in tracked_events(simulator.url))
    assert delivered == Counter({app: 2 for n, app in enumerate(apps) if n % 10})


@pytest.mark.parametrize(
    "traceparent",
    ["garbage", "00-" + "0" * 32 + "-" + "0" * 16 + "-01", "ff-" + "z" * 32 + "-x-y", "0" * 5000],
)
def test_a_malformed_traceparent_starts_a_trace_of_its_own(
    simulator: HeapSimulator,
    start_service: Callable[..., BackgroundService],
    traceparent: str,
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    service = start_service(base_url=simulator.url, tracing=provider)

    with grpc.insecure_channel(service.target) as channel:
        service_pb2_grpc.HeapDestinationServiceStub(channel).TrackEvent(
            track_pb2.TrackEventRequest(config={"app_id": APP_ID}, user_id="u1", event="E"),
            metadata=(("traceparent", traceparent),),
            timeout=10,
        )
    provider.shutdown()

    [call] = [s for s in exporter.get_finished_spans() if s.name.endswith("/TrackEvent")]
    assert call.parent is None
    assert call.context.is_valid
    assert len(tracked_events(simulator.url)) == 1
