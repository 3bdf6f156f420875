"""Errors as gRPC statuses with google.rpc details (ErrorInfo, BadRequest, RetryInfo):
the one mapping for every service of the server.

The same description serves a unary call's status and a streamed event's EventResult.
A failed user deletion's never carries the Heap API key: its errors are worded without it.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NoReturn

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from heap_destination.api.caller import AllAppsDenied, PermissionDenied, Unauthenticated
from heap_destination.api.deletion.rights import DeletionNotAllowed
from heap_destination.delivery.deletion.errors import (
    DeletionError,
    DeletionRejected,
    DeletionUnavailable,
    HeapApiKeyMissing,
    HeapApiKeyRefused,
)
from heap_destination.delivery.errors import (
    DeliveryError,
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

ERROR_DOMAIN = "heap-destination.v1"

# gRPC carries a status's message and details in trailers, which clients cap (8 KiB by
# default): field violations beyond this many UTF-8 bytes are counted, not listed, and
# the message names only the first few. Unary and streamed answers share the bound.
MAX_LISTED_VIOLATION_BYTES = 2000
_VIOLATIONS_IN_MESSAGE = 3
_MAX_MESSAGE_CHARACTERS = 250

# How Heap's permanent answers reach the caller; any other 4xx is FAILED_PRECONDITION.
_HEAP_REJECTION_CODES = {
    400: code_pb2.INVALID_ARGUMENT,
    404: code_pb2.NOT_FOUND,
    413: code_pb2.INVALID_ARGUMENT,
    422: code_pb2.INVALID_ARGUMENT,
}
# Heap refusing an event's app_id is the caller's to fix; refusing a user deletion (which
# goes with the server's API key) is the server's.
_HEAP_EVENT_REJECTION_CODES = {
    **_HEAP_REJECTION_CODES,
    401: code_pb2.PERMISSION_DENIED,
    403: code_pb2.PERMISSION_DENIED,
}

ServiceError = (
    InvalidInput
    | DeliveryError
    | Unauthenticated
    | PermissionDenied
    | AllAppsDenied
    | DeletionError
    | DeletionNotAllowed
)


@dataclass(frozen=True)
class ErrorDescription:
    code: int
    """A google.rpc.Code value."""
    message: str
    reason: str
    violations: tuple[FieldViolation, ...] = ()
    """The violations listed; `unlisted_violations` more were left out for size."""
    unlisted_violations: int = 0
    retry_delay: float | None = None
    metadata: dict[str, str] = field(default_factory=dict)


def describe(error: ServiceError) -> ErrorDescription:
    if isinstance(error, Unauthenticated):
        return ErrorDescription(code_pb2.UNAUTHENTICATED, str(error), "UNAUTHENTICATED")
    if isinstance(error, PermissionDenied):
        return ErrorDescription(
            code_pb2.PERMISSION_DENIED,
            str(error),
            "APP_ID_NOT_ALLOWED",
            metadata={"app_id": error.app_id},
        )
    if isinstance(error, AllAppsDenied):
        return ErrorDescription(code_pb2.PERMISSION_DENIED, str(error), "APP_ID_NOT_ALLOWED")
    if isinstance(error, InvalidInput):
        listed = listed_violations(error.violations)
        return ErrorDescription(
            code_pb2.INVALID_ARGUMENT,
            _invalid_input_message(error.violations),
            "INVALID_EVENT",
            violations=listed,
            unlisted_violations=len(error.violations) - len(listed),
        )
    if isinstance(error, HeapRejected):
        return ErrorDescription(
            _HEAP_EVENT_REJECTION_CODES.get(error.status, code_pb2.FAILED_PRECONDITION),
            f"Heap rejected the request permanently: {error}",
            "HEAP_REJECTED",
            metadata={"heap_status": str(error.status)},
        )
    if isinstance(error, RateLimited):
        return ErrorDescription(
            code_pb2.RESOURCE_EXHAUSTED,
            f"{error}; retry later",
            "RATE_LIMITED",
            retry_delay=error.retry_after,
        )
    if isinstance(error, Overloaded):
        return ErrorDescription(
            code_pb2.RESOURCE_EXHAUSTED,
            f"{error}; retry later",
            "OVERLOADED",
            retry_delay=error.retry_after,
        )
    if isinstance(error, NoRoomInStore):
        return ErrorDescription(
            code_pb2.RESOURCE_EXHAUSTED,
            f"{error}; retry later",
            "STORE_FULL",
            retry_delay=error.retry_after,
        )
    if isinstance(error, StoreOutOfService):
        return ErrorDescription(code_pb2.UNAVAILABLE, str(error), "STORE_UNAVAILABLE")
    if isinstance(error, InternalError):
        return ErrorDescription(
            code_pb2.UNAVAILABLE, f"{error}; send again with the same message_id", "INTERNAL_ERROR"
        )
    if isinstance(error, ShuttingDown):
        return ErrorDescription(
            code_pb2.UNAVAILABLE,
            f"{error}; send again, with the same message_id",
            "SHUTTING_DOWN",
        )
    if isinstance(error, DeletionError | DeletionNotAllowed):
        return _deletion_failure(error)
    retry_after = error.retry_after if isinstance(error, HeapUnavailable) else None
    return ErrorDescription(
        code_pb2.UNAVAILABLE,
        f"Heap did not accept the request in time, send again with the same message_id: {error}",
        "HEAP_UNAVAILABLE",
        retry_delay=retry_after,
    )


def _deletion_failure(error: DeletionError | DeletionNotAllowed) -> ErrorDescription:
    if isinstance(error, DeletionNotAllowed):
        return ErrorDescription(code_pb2.PERMISSION_DENIED, str(error), "DELETION_NOT_ALLOWED")
    if isinstance(error, HeapApiKeyMissing):
        return ErrorDescription(code_pb2.FAILED_PRECONDITION, str(error), "HEAP_API_KEY_MISSING")
    if isinstance(error, HeapApiKeyRefused):
        return ErrorDescription(
            code_pb2.FAILED_PRECONDITION,
            str(error),
            "HEAP_API_KEY_REFUSED",
            metadata={"app_id": error.app_id, "heap_status": str(error.status)},
        )
    if isinstance(error, DeletionRejected):
        return ErrorDescription(
            _HEAP_REJECTION_CODES.get(error.status, code_pb2.FAILED_PRECONDITION),
            f"Heap rejected the request permanently: {error}",
            "HEAP_REJECTED",
            metadata={"heap_status": str(error.status), **_submitted(error.submitted)},
        )
    unavailable = error if isinstance(error, DeletionUnavailable) else None
    return ErrorDescription(
        code_pb2.UNAVAILABLE,
        f"Heap did not take the request, call again: {error}",
        "HEAP_UNAVAILABLE",
        retry_delay=unavailable.retry_after if unavailable else None,
        metadata=_submitted(unavailable.submitted if unavailable else ()),
    )


def _submitted(request_ids: tuple[str, ...]) -> dict[str, str]:
    """Deletion requests Heap took before a later one of the same call failed."""
    return {"submitted_deletion_request_ids": ",".join(request_ids)} if request_ids else {}


def listed_violations(violations: Sequence[FieldViolation]) -> tuple[FieldViolation, ...]:
    """The first violations that fit MAX_LISTED_VIOLATION_BYTES (always at least one)."""
    budget = MAX_LISTED_VIOLATION_BYTES
    for count, violation in enumerate(violations):
        budget -= len(violation.field.encode()) + len(violation.description.encode()) + 8
        if budget < 0:
            return tuple(violations[: max(count, 1)])
    return tuple(violations)


def _invalid_input_message(violations: Sequence[FieldViolation]) -> str:
    shown = "; ".join(f"{v.field}: {v.description}" for v in violations[:_VIOLATIONS_IN_MESSAGE])
    if len(shown) > _MAX_MESSAGE_CHARACTERS:
        shown = shown[:_MAX_MESSAGE_CHARACTERS] + "…"
    more = len(violations) - _VIOLATIONS_IN_MESSAGE
    return f"invalid request: {shown}" + (f" (and {more} more)" if more > 0 else "")


def internal_error_status() -> grpc.Status:
    """The answer to a call that failed in a way the service did not expect (logged)."""
    return _to_status(
        ErrorDescription(
            code_pb2.INTERNAL,
            "the service failed unexpectedly; the failure is logged",
            "INTERNAL_ERROR",
        )
    )


def grpc_status(error: ServiceError) -> grpc.Status:
    return _to_status(describe(error))


async def abort(context: grpc.aio.ServicerContext, error: ServiceError) -> NoReturn:
    """Ends the call with `error`'s status."""
    status = grpc_status(error)
    await context.abort(status.code, status.details, status.trailing_metadata)
    raise AssertionError("context.abort always raises")


def _to_status(description: ErrorDescription) -> grpc.Status:
    metadata = dict(description.metadata)
    if description.unlisted_violations:
        metadata["unlisted_field_violations"] = str(description.unlisted_violations)
    details: list[object] = [
        error_details_pb2.ErrorInfo(
            reason=description.reason, domain=ERROR_DOMAIN, metadata=metadata
        )
    ]
    if description.violations:
        details.append(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=v.field, description=v.description
                    )
                    for v in description.violations
                ]
            )
        )
    if description.retry_delay is not None:
        details.append(error_details_pb2.RetryInfo(retry_delay=duration(description.retry_delay)))
    packed = []
    for detail in details:
        any_detail = any_pb2.Any()
        any_detail.Pack(detail)  # type: ignore[arg-type]
        packed.append(any_detail)
    return rpc_status.to_status(
        status_pb2.Status(code=description.code, message=description.message, details=packed)
    )


def duration(seconds: float) -> duration_pb2.Duration:
    whole = math.floor(seconds)
    return duration_pb2.Duration(seconds=whole, nanos=int((seconds - whole) * 1e9))
