import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from heap_destination.api.caller import AllAppsDenied, PermissionDenied, Unauthenticated
from heap_destination.api.deletion.rights import DeletionNotAllowed
from heap_destination.api.error_status import (
    ERROR_DOMAIN,
    ServiceError,
    describe,
    grpc_status,
    internal_error_status,
    listed_violations,
)
from heap_destination.delivery.deletion.errors import (
    DeletionRejected,
    DeletionUnavailable,
    HeapApiKeyMissing,
    HeapApiKeyRefused,
)
from heap_destination.delivery.errors import (
    HeapRejected,
    HeapUnavailable,
    InternalError,
    NoRoomInStore,
    Overloaded,
    RateLimited,
    ShuttingDown,
    StoreOutOfService,
)
from heap_destination.domain.violations import FieldViolation, InvalidInput
from heap_destination.v1 import errors_pb2

DETAILS_KEY = "grpc-status-details-bin"
CLIENT_METADATA_LIMIT = 8192
"""Bytes of metadata a gRPC client accepts by default."""

# Characters of 2, 3 and 4 UTF-8 bytes.
WIDE_CHARACTERS = ["é", "☕", "😀"]


def many_violations(count: int, character: str = "x") -> InvalidInput:
    return InvalidInput(FieldViolation(character * 100, character * 100) for _ in range(count))


def metadata_size(status: grpc.Status) -> int:
    return sum(len(key) + len(value) for key, value in status.trailing_metadata)


def rich_status(status: grpc.Status) -> status_pb2.Status:
    details = dict(status.trailing_metadata)[DETAILS_KEY]
    assert isinstance(details, bytes)
    return status_pb2.Status.FromString(details)


def unpacked(status: grpc.Status) -> dict[str, object]:
    """The status's details by type name: ErrorInfo, BadRequest, RetryInfo."""
    kinds = {
        "ErrorInfo": error_details_pb2.ErrorInfo,
        "BadRequest": error_details_pb2.BadRequest,
        "RetryInfo": error_details_pb2.RetryInfo,
    }
    found: dict[str, object] = {}
    packed: any_pb2.Any
    for packed in rich_status(status).details:
        name = packed.type_url.rsplit(".", 1)[-1]
        detail = kinds[name]()
        assert packed.Unpack(detail)
        found[name] = detail
    return found


def error_info(status: grpc.Status) -> error_details_pb2.ErrorInfo:
    info = unpacked(status)["ErrorInfo"]
    assert isinstance(info, error_details_pb2.ErrorInfo)
    return info


def bad_request(status: grpc.Status) -> error_details_pb2.BadRequest:
    request = unpacked(status)["BadRequest"]
    assert isinstance(request, error_details_pb2.BadRequest)
    return request


@pytest.mark.parametrize("character", WIDE_CHARACTERS)
def test_a_thousand_violations_of_wide_characters_fit_a_clients_metadata_limit(
    character: str,
) -> None:
    status = grpc_status(many_violations(1000, character))

    assert metadata_size(status) < CLIENT_METADATA_LIMIT
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("character", ["x", *WIDE_CHARACTERS])
def test_violations_left_out_for_size_are_counted_in_the_error_info(character: str) -> None:
    error = many_violations(1000, character)

    status = grpc_status(error)

    listed = bad_request(status).field_violations
    assert 1 <= len(listed) < 1000
    assert [(v.field, v.description) for v in listed] == [
        (v.field, v.description) for v in error.violations[: len(listed)]
    ]
    info = error_info(status)
    assert info.reason == "INVALID_EVENT"
    assert info.domain == ERROR_DOMAIN
    assert info.metadata["unlisted_field_violations"] == str(1000 - len(listed))


@pytest.mark.parametrize("character", ["x", *WIDE_CHARACTERS])
def test_the_message_names_a_few_violations_and_counts_the_rest(character: str) -> None:
    status = grpc_status(many_violations(1000, character))

    assert len(status.details) < 1000
    assert status.details.startswith("invalid request: ")
    assert status.details.endswith("(and 997 more)")
    assert rich_status(status).message == status.details


def test_two_violations_are_both_listed_and_nothing_is_counted_as_unlisted() -> None:
    error = InvalidInput(
        [FieldViolation("event", "required"), FieldViolation("properties.x", "must be finite")]
    )

    status = grpc_status(error)

    assert [(v.field, v.description) for v in bad_request(status).field_violations] == [
        ("event", "required"),
        ("properties.x", "must be finite"),
    ]
    assert "unlisted_field_violations" not in error_info(status).metadata
    assert status.details == "invalid request: event: required; properties.x: must be finite"


def test_one_violation_larger_than_the_budget_is_still_listed() -> None:
    huge = FieldViolation("properties.k", "d" * 10_000)

    assert listed_violations([huge, FieldViolation("event", "required")]) == (huge,)


def test_violations_are_listed_until_the_byte_budget_runs_out_counting_utf8_bytes() -> None:
    ascii_listed = listed_violations(many_violations(1000, "x").violations)
    wide_listed = listed_violations(many_violations(1000, "😀").violations)

    assert len(wide_listed) < len(ascii_listed)


def test_the_description_of_invalid_input_holds_what_the_status_carries() -> None:
    error = many_violations(1000)

    description = describe(error)

    assert description.code == code_pb2.INVALID_ARGUMENT
    assert description.unlisted_violations == 1000 - len(description.violations)


def test_an_overload_carries_its_retry_delay() -> None:
    status = grpc_status(Overloaded(1.5))

    assert status.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    retry = unpacked(status)["RetryInfo"]
    assert isinstance(retry, error_details_pb2.RetryInfo)
    assert (retry.retry_delay.seconds, retry.retry_delay.nanos) == (1, 500_000_000)
    assert error_info(status).reason == "OVERLOADED"


def test_the_internal_error_status_is_internal_and_says_it_is_logged() -> None:
    status = internal_error_status()

    assert status.code == grpc.StatusCode.INTERNAL
    assert "logged" in status.details
    assert set(unpacked(status)) == {"ErrorInfo"}
    assert error_info(status).reason == "INTERNAL_ERROR"


async def test_a_client_receives_the_whole_status_of_a_thousand_wide_violations() -> None:
    error = many_violations(1000, "😀")
    status = grpc_status(error)

    async def answer(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        await context.abort_with_status(status)
        raise AssertionError("abort_with_status returned")

    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(
                "test.Errors", {"Fail": grpc.unary_unary_rpc_method_handler(answer)}
            )
        ]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await channel.unary_unary("/test.Errors/Fail")(b"", timeout=10)
    finally:
        await server.stop(None)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.details() == status.details
    received = dict(raised.value.trailing_metadata() or ())
    assert received[DETAILS_KEY] == dict(status.trailing_metadata)[DETAILS_KEY]


EVERY_ERROR: list[ServiceError] = [
    InvalidInput([FieldViolation("user_id", "required")]),
    Unauthenticated("no token"),
    PermissionDenied("1"),
    RateLimited(1.0),
    Overloaded(1.0),
    HeapUnavailable("down"),
    HeapRejected(400, "bad"),
    ShuttingDown(),
    InternalError("surprise"),
    NoRoomInStore("full", 5.0),
    StoreOutOfService("down"),
]


def test_every_error_reason_has_its_typed_value_and_every_typed_value_a_reason() -> None:
    reasons = {describe(error).reason for error in EVERY_ERROR}

    typed = {errors_pb2.ErrorReason.Value(f"ERROR_REASON_{reason}") for reason in reasons}

    assert typed == set(errors_pb2.ErrorReason.values()) - {errors_pb2.ERROR_REASON_UNSPECIFIED}


@pytest.mark.parametrize(
    ("error", "code", "reason", "metadata", "retry_delay"),
    [
        (DeletionNotAllowed(), code_pb2.PERMISSION_DENIED, "DELETION_NOT_ALLOWED", {}, None),
        (HeapApiKeyMissing(), code_pb2.FAILED_PRECONDITION, "HEAP_API_KEY_MISSING", {}, None),
        (
            HeapApiKeyRefused("1", 403),
            code_pb2.FAILED_PRECONDITION,
            "HEAP_API_KEY_REFUSED",
            {"app_id": "1", "heap_status": "403"},
            None,
        ),
        (
            DeletionRejected(422, "bad", ["d-1", "d-2"]),
            code_pb2.INVALID_ARGUMENT,
            "HEAP_REJECTED",
            {"heap_status": "422", "submitted_deletion_request_ids": "d-1,d-2"},
            None,
        ),
        (
            # Heap refusing the server's API key is the server's to fix, not the caller's.
            DeletionRejected(403, ""),
            code_pb2.FAILED_PRECONDITION,
            "HEAP_REJECTED",
            {"heap_status": "403"},
            None,
        ),
        (
            DeletionUnavailable("down", 2.5, ["d-1"]),
            code_pb2.UNAVAILABLE,
            "HEAP_UNAVAILABLE",
            {"submitted_deletion_request_ids": "d-1"},
            2.5,
        ),
        (AllAppsDenied(), code_pb2.PERMISSION_DENIED, "APP_ID_NOT_ALLOWED", {}, None),
    ],
)
def test_deletion_and_admin_errors_have_their_status_in_the_one_mapping(
    error: ServiceError,
    code: int,
    reason: str,
    metadata: dict[str, str],
    retry_delay: float | None,
) -> None:
    described = describe(error)

    assert (described.code, described.reason) == (code, reason)
    assert described.metadata == metadata
    assert described.retry_delay == retry_delay
    assert str(error) in described.message


def test_heap_refusing_an_events_app_id_is_the_callers_permission_denied() -> None:
    assert describe(HeapRejected(403, "")).code == code_pb2.PERMISSION_DENIED
