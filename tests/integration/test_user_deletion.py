"""DeleteUsers and GetDeletionStatus through the real server against the simulator."""

import base64
import logging
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from heap_destination.api.caller import Caller
from heap_destination.api.deletion.rights import UserDeleter
from heap_destination.app.tokens import TokenStore
from heap_destination.client import error_details
from heap_destination.sim import HeapSimulator
from heap_destination.sim.faults import Fault
from heap_destination.v1 import deletion_pb2
from tests.conftest import APP_ID
from tests.integration.deletion_support import (
    API_KEY,
    AUTH_TOKEN,
    USER_DELETION,
    bearer,
    deletion_stub,
    requests_to,
)
from tests.support.background_service import BackgroundService
from tests.support.wait import wait_until

OTHER_APP = "2222222222"
DELETER_TOKEN = "deleter-token-0123456789"
SENDER_TOKEN = "sender-token-01234567890"
TOKENS = TokenStore(
    [
        (DELETER_TOKEN, UserDeleter("privacy", frozenset({APP_ID}))),
        (SENDER_TOKEN, Caller("billing", None)),
    ]
)

StartService = Callable[..., BackgroundService]


@pytest.fixture
def simulator() -> Iterator[HeapSimulator]:
    with HeapSimulator(api_key=API_KEY) as running:
        yield running


@pytest.fixture
def service(simulator: HeapSimulator, start_service: StartService) -> BackgroundService:
    return start_service(base_url=simulator.url, heap_api_key=API_KEY)


def delete(service: BackgroundService, **fields: Any) -> deletion_pb2.DeleteUsersResponse:
    with deletion_stub(service) as stub:
        response: deletion_pb2.DeleteUsersResponse = stub.DeleteUsers(
            deletion_pb2.DeleteUsersRequest(**fields), timeout=30
        )
    return response


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured record, with the fields passed as `extra`."""
    return "\n".join(str(record.__dict__) for record in caplog.records)


def refusal(service: BackgroundService, token: str = "", **fields: Any) -> grpc.RpcError:
    with deletion_stub(service) as stub, pytest.raises(grpc.RpcError) as raised:
        stub.DeleteUsers(
            deletion_pb2.DeleteUsersRequest(**fields),
            timeout=30,
            metadata=bearer(token) if token else None,
        )
    return raised.value


def test_25000_identities_make_3_deletion_requests_with_one_auth_token_reused_after(
    service: BackgroundService, simulator: HeapSimulator
) -> None:
    identities = [f"user-{n}@example.com" for n in range(25_000)]

    response = delete(service, app_id=APP_ID, identities=identities)

    assert [request.users for request in response.deletion_requests] == [10_000, 10_000, 5_000]
    assert len({request.deletion_request_id for request in response.deletion_requests}) == 3
    assert {request.status for request in response.deletion_requests} == {"pending"}
    assert (response.app_id, response.identities, response.heap_user_ids) == (APP_ID, 25_000, 0)
    assert (requests_to(simulator, USER_DELETION), requests_to(simulator, AUTH_TOKEN)) == (3, 1)
    sent = [r.body for r in simulator.accepted() if r.path == USER_DELETION]
    assert [user["identity"] for body in sent for user in body["users"]] == identities

    again = delete(service, app_id=APP_ID, heap_user_ids=["42"])

    assert [request.users for request in again.deletion_requests] == [1]
    assert (requests_to(simulator, USER_DELETION), requests_to(simulator, AUTH_TOKEN)) == (4, 1)
    assert sent[-1] != simulator.accepted()[-1].body == {"users": [{"user_id": "42"}]}


def test_identities_are_trimmed_and_counted_once_beside_heap_user_ids(
    service: BackgroundService, simulator: HeapSimulator
) -> None:
    response = delete(
        service,
        app_id=APP_ID,
        identities=[" alice ", "alice", "bob\u200b"],
        heap_user_ids=["007", "7", "8"],
    )

    assert (response.identities, response.heap_user_ids) == (2, 2)
    assert simulator.accepted()[-1].body == {
        "users": [{"identity": "alice"}, {"identity": "bob"}, {"user_id": "7"}, {"user_id": "8"}]
    }


def test_get_deletion_status_reports_heaps_status_of_a_request(
    service: BackgroundService,
) -> None:
    [taken] = delete(service, app_id=APP_ID, identities=["alice"]).deletion_requests

    with deletion_stub(service) as stub:
        status = stub.GetDeletionStatus(
            deletion_pb2.GetDeletionStatusRequest(
                app_id=APP_ID, deletion_request_id=taken.deletion_request_id
            ),
            timeout=10,
        )
        with pytest.raises(grpc.RpcError) as unknown:
            stub.GetDeletionStatus(
                deletion_pb2.GetDeletionStatusRequest(
                    app_id=APP_ID, deletion_request_id="no/such request"
                ),
                timeout=10,
            )

    assert (status.app_id, status.deletion_request_id) == (APP_ID, taken.deletion_request_id)
    assert status.status == "pending"
    details = error_details(unknown.value)
    assert (details.code, details.reason) == (grpc.StatusCode.NOT_FOUND, "HEAP_REJECTED")


def test_a_wrong_api_key_is_failed_precondition_and_the_key_is_never_logged(
    simulator: HeapSimulator, start_service: StartService, caplog: pytest.LogCaptureFixture
) -> None:
    wrong_key = "wrong-heap-key-93c1f0a8"
    service = start_service(base_url=simulator.url, heap_api_key=wrong_key)
    caplog.set_level(logging.DEBUG)

    error = refusal(service, app_id=APP_ID, identities=["alice"])

    details = error_details(error)
    assert (details.code, details.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "HEAP_API_KEY_REFUSED",
    )
    assert "Heap refused the server's API key" in details.message
    assert requests_to(simulator, USER_DELETION) == 0
    wait_until(lambda: "DeleteUsers" in logged(caplog), timeout=5, interval=0.01)
    basic = base64.b64encode(f"{APP_ID}:{wrong_key}".encode()).decode()
    for secret in (wrong_key, basic):
        assert secret not in logged(caplog)
        assert secret not in details.message


def test_without_the_deletion_right_a_token_is_permission_denied(
    simulator: HeapSimulator, start_service: StartService
) -> None:
    service = start_service(base_url=simulator.url, heap_api_key=API_KEY, tokens=TOKENS)

    no_right = error_details(refusal(service, SENDER_TOKEN, app_id=APP_ID, identities=["a"]))
    other_app = error_details(refusal(service, DELETER_TOKEN, app_id=OTHER_APP, identities=["a"]))
    with deletion_stub(service) as stub:
        allowed = stub.DeleteUsers(
            deletion_pb2.DeleteUsersRequest(app_id=APP_ID, identities=["a"]),
            timeout=10,
            metadata=bearer(DELETER_TOKEN),
        )

    assert (no_right.code, no_right.reason) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "DELETION_NOT_ALLOWED",
    )
    assert "may_delete_users" in no_right.message
    assert (other_app.code, other_app.reason) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "APP_ID_NOT_ALLOWED",
    )
    assert [request.users for request in allowed.deletion_requests] == [1]
    assert requests_to(simulator, USER_DELETION) == 1


def test_without_an_api_key_both_calls_are_failed_precondition_naming_the_setting(
    simulator: HeapSimulator, start_service: StartService
) -> None:
    service = start_service(base_url=simulator.url)

    deletion = error_details(refusal(service, app_id=APP_ID, identities=["alice"]))
    with deletion_stub(service) as stub, pytest.raises(grpc.RpcError) as raised:
        stub.GetDeletionStatus(
            deletion_pb2.GetDeletionStatusRequest(app_id=APP_ID, deletion_request_id="r1"),
            timeout=10,
        )
    status = error_details(raised.value)

    for details in (deletion, status):
        assert (details.code, details.reason) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "HEAP_API_KEY_MISSING",
        )
        assert "--heap-api-key-file" in details.message and "HEAP_API_KEY" in details.message
    assert simulator.attempts() == []


@pytest.mark.parametrize(
    ("fields", "field", "problem"),
    [
        ({"identities": ["a"]}, "app_id", "required"),
        ({"app_id": "my-app", "identities": ["a"]}, "app_id", "decimal"),
        ({"app_id": APP_ID}, "identities", "at least one"),
        ({"app_id": APP_ID, "identities": ["a", " \u200b "]}, "identities[1]", "empty"),
        ({"app_id": APP_ID, "identities": ["a\nb"]}, "identities[0]", "control characters"),
        ({"app_id": APP_ID, "identities": ["x" * 256]}, "identities[0]", "at most 255"),
        ({"app_id": APP_ID, "heap_user_ids": ["12a"]}, "heap_user_ids[0]", "decimal number"),
        ({"app_id": APP_ID, "heap_user_ids": [str(2**53)]}, "heap_user_ids[0]", "decimal"),
    ],
)
def test_bad_input_is_invalid_argument_naming_the_field(
    service: BackgroundService,
    simulator: HeapSimulator,
    fields: dict[str, Any],
    field: str,
    problem: str,
) -> None:
    details = error_details(refusal(service, **fields))

    assert (details.code, details.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_EVENT")
    assert problem in details.field_violations[field]
    assert simulator.attempts() == []


def test_a_status_request_without_an_id_is_invalid_argument(service: BackgroundService) -> None:
    with deletion_stub(service) as stub, pytest.raises(grpc.RpcError) as raised:
        stub.GetDeletionStatus(deletion_pb2.GetDeletionStatusRequest(app_id=APP_ID), timeout=10)

    details = error_details(raised.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.field_violations == {"deletion_request_id": "required"}


def test_heap_failing_is_unavailable_with_the_requests_it_took_and_calling_again_is_safe(
    service: BackgroundService, simulator: HeapSimulator
) -> None:
    identities = [f"user-{n}" for n in range(15_000)]
    simulator.inject(
        Fault(status=503, path=USER_DELETION, retry_after="3", body_contains="user-14999")
    )

    details = error_details(refusal(service, app_id=APP_ID, identities=identities))
    response = delete(service, app_id=APP_ID, identities=identities)

    assert (details.code, details.reason) == (grpc.StatusCode.UNAVAILABLE, "HEAP_UNAVAILABLE")
    assert details.retry_delay == 3
    assert [request.users for request in response.deletion_requests] == [10_000, 5_000]
    assert requests_to(simulator, USER_DELETION) == 4


def test_with_tracing_each_request_to_heap_is_a_client_span_within_the_call(
    simulator: HeapSimulator, start_service: StartService
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    service = start_service(base_url=simulator.url, heap_api_key=API_KEY, tracing=provider)

    delete(service, app_id=APP_ID, identities=["alice"])

    finished = exporter.get_finished_spans()
    [call] = [s for s in finished if s.name.endswith("UserDeletionService/DeleteUsers")]
    requests = [s for s in finished if s.kind == SpanKind.CLIENT]
    assert [(s.name, (s.attributes or {}).get("url.full")) for s in requests] == [
        ("POST", simulator.url + AUTH_TOKEN),
        ("POST", simulator.url + USER_DELETION),
    ]
    assert all(s.parent is not None and s.parent.span_id == call.context.span_id for s in requests)
    provider.shutdown()
