"""Bearer tokens through a real server: who may call, and which app_ids they may send to."""

import json
import logging
from typing import Any

import grpc
import pytest
from google.rpc import code_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from heap_destination.app.cli import main
from heap_destination.app.logs import JsonFormatter
from heap_destination.app.tokens import parse_tokens
from heap_destination.client import HeapDestinationClient, error_details, in_messages, track_event
from heap_destination.sim import HeapSimulator
from heap_destination.v1 import config_pb2, service_pb2_grpc, track_pb2, web_pb2
from tests.conftest import APP_ID
from tests.support.simulator_api import tracked_events

BILLING_TOKEN = "billing-token-0123456789"
ADMIN_TOKEN = "admin-token-0123456789ab"
TOKENS = json.dumps(
    [
        {"name": "billing", "token": BILLING_TOKEN, "app_ids": [APP_ID]},
        {"name": "admin", "token": ADMIN_TOKEN},
    ]
)


@pytest.fixture
def target(simulator: HeapSimulator, start_service: Any) -> str:
    service = start_service(base_url=simulator.url, tokens=parse_tokens(TOKENS, "test"))
    return str(service.target)


def _client(target: str, token: str | None, app_id: str = APP_ID) -> HeapDestinationClient:
    channel = grpc.insecure_channel(target)
    if token is not None:
        channel = grpc.intercept_channel(channel, _BearerToken(token))
    return HeapDestinationClient(target, app_id=app_id, channel=channel)


class _BearerToken(grpc.UnaryUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):  # type: ignore[misc]
    def __init__(self, token: str) -> None:
        self._metadata = (("authorization", f"Bearer {token}"),)

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(details._replace(metadata=self._metadata), request)

    def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(details._replace(metadata=self._metadata), requests)


@pytest.mark.parametrize("token", [None, "wrong-token-0123456789"])
def test_no_token_or_a_wrong_one_is_unauthenticated(
    target: str, simulator: HeapSimulator, token: str | None
) -> None:
    with _client(target, token) as client, pytest.raises(grpc.RpcError) as raised:
        client.track("Signed Up", user_id="u1")

    details = error_details(raised.value)
    assert details.code == grpc.StatusCode.UNAUTHENTICATED
    assert details.reason == "UNAUTHENTICATED"
    assert tracked_events(simulator.url) == []


@pytest.mark.parametrize("second", [ADMIN_TOKEN, "wrong-token-0123456789"])
def test_two_authorization_headers_are_unauthenticated(
    target: str, simulator: HeapSimulator, second: str
) -> None:
    request = track_pb2.TrackEventRequest(
        config=config_pb2.DestinationConfig(app_id=APP_ID), user_id="u1", event="E"
    )
    metadata = (("authorization", f"Bearer {BILLING_TOKEN}"), ("authorization", f"Bearer {second}"))

    with grpc.insecure_channel(target) as channel, pytest.raises(grpc.RpcError) as raised:
        service_pb2_grpc.HeapDestinationServiceStub(channel).TrackEvent(
            request, metadata=metadata, timeout=10
        )

    assert error_details(raised.value).code == grpc.StatusCode.UNAUTHENTICATED
    assert tracked_events(simulator.url) == []


def test_an_app_id_outside_the_tokens_list_is_permission_denied(
    target: str, simulator: HeapSimulator
) -> None:
    with _client(target, BILLING_TOKEN, app_id="999") as client:
        with pytest.raises(grpc.RpcError) as raised:
            client.track("Signed Up", user_id="u1")
        results = list(client.stream(in_messages([track_event("e1", "E", user_id="u1")])))

    details = error_details(raised.value)
    assert details.code == grpc.StatusCode.PERMISSION_DENIED
    assert details.reason == "APP_ID_NOT_ALLOWED"
    assert [(r.id, r.code) for r in results] == [("e1", code_pb2.PERMISSION_DENIED)]
    assert tracked_events(simulator.url) == []


def test_a_web_snippet_for_an_app_outside_the_tokens_list_is_permission_denied(
    target: str,
) -> None:
    channel = grpc.intercept_channel(grpc.insecure_channel(target), _BearerToken(BILLING_TOKEN))
    stub = service_pb2_grpc.HeapDestinationServiceStub(channel)
    allowed = stub.RenderWebSnippet(
        web_pb2.RenderWebSnippetRequest(config=config_pb2.DestinationConfig(app_id=APP_ID))
    )
    with pytest.raises(grpc.RpcError) as raised:
        stub.RenderWebSnippet(
            web_pb2.RenderWebSnippetRequest(config=config_pb2.DestinationConfig(app_id="999"))
        )
    channel.close()

    assert allowed.app_id == APP_ID
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_valid_tokens_deliver_within_their_app_ids(target: str, simulator: HeapSimulator) -> None:
    with _client(target, BILLING_TOKEN) as billing, _client(target, ADMIN_TOKEN, "777") as admin:
        billing.track("Billed", user_id="u1")
        admin.track("Administered", user_id="u1")

    assert sorted((e["app_id"], e["event"]) for e in tracked_events(simulator.url)) == [
        (APP_ID, "Billed"),
        ("777", "Administered"),
    ]


def test_health_stays_open_without_a_token(target: str) -> None:
    with grpc.insecure_channel(target) as channel:
        response = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())

    assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_other_methods_need_a_token_too(target: str) -> None:
    with grpc.insecure_channel(target) as channel, pytest.raises(grpc.RpcError) as raised:
        service_pb2_grpc.HeapDestinationServiceStub(channel).RenderWebSnippet(
            web_pb2.RenderWebSnippetRequest(config=config_pb2.DestinationConfig(app_id=APP_ID))
        )

    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_non_loopback_address_without_tokens_is_refused_at_start(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["serve", "--listen", "0.0.0.0:0"], env={})

    assert code == 2
    assert "--allow-unauthenticated" in capsys.readouterr().err


def test_each_call_is_logged_with_its_own_caller_and_request_id(
    target: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="heap_destination.access")
    caplog.handler.setFormatter(JsonFormatter())
    request = track_pb2.TrackEventRequest(
        config=config_pb2.DestinationConfig(app_id=APP_ID), user_id="u1", event="Signed Up"
    )
    calls = [(f"req-{n}", (BILLING_TOKEN, ADMIN_TOKEN)[n % 2]) for n in range(20)]

    with grpc.insecure_channel(target) as channel:
        stub = service_pb2_grpc.HeapDestinationServiceStub(channel)
        futures = [
            stub.TrackEvent.future(
                request,
                metadata=(("authorization", f"Bearer {token}"), ("x-request-id", request_id)),
                timeout=10,
            )
            for request_id, token in calls
        ]
        for future in futures:
            future.result()

    lines = [json.loads(line) for line in caplog.text.splitlines()]
    logged = {
        line["request_id"]: line["caller"] for line in lines if line["message"] == "call finished"
    }
    names = {BILLING_TOKEN: "billing", ADMIN_TOKEN: "admin"}
    assert logged == {request_id: names[token] for request_id, token in calls}
