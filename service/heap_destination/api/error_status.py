"""Errors as gRPC statuses with google.rpc details (BadRequest, ErrorInfo, RetryInfo)."""

import math

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from heap_destination.delivery.errors import HeapRejected, HeapUnavailable
from heap_destination.domain.violations import InvalidInput

ERROR_DOMAIN = "heap-destination.v1"

# How Heap's permanent answers reach the caller; any other 4xx is FAILED_PRECONDITION.
_HEAP_REJECTION_CODES = {
    400: code_pb2.INVALID_ARGUMENT,
    401: code_pb2.PERMISSION_DENIED,
    403: code_pb2.PERMISSION_DENIED,
    404: code_pb2.NOT_FOUND,
    413: code_pb2.INVALID_ARGUMENT,
    422: code_pb2.INVALID_ARGUMENT,
}


def invalid_input_status(error: InvalidInput) -> grpc.Status:
    bad_request = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in error.violations
        ]
    )
    return _status(
        code_pb2.INVALID_ARGUMENT,
        f"invalid request: {error}",
        _error_info("INVALID_EVENT"),
        bad_request,
    )


def unavailable_status(error: HeapUnavailable) -> grpc.Status:
    details = [_error_info("HEAP_UNAVAILABLE")]
    if error.retry_after is not None:
        details.append(retry_info(error.retry_after))
    return _status(
        code_pb2.UNAVAILABLE,
        f"Heap did not accept the request in time, retry with the same message_id: {error}",
        *details,
    )


def rejected_status(error: HeapRejected) -> grpc.Status:
    return _status(
        _HEAP_REJECTION_CODES.get(error.status, code_pb2.FAILED_PRECONDITION),
        f"Heap rejected the request permanently: {error}",
        _error_info("HEAP_REJECTED", heap_status=str(error.status)),
    )


def retry_info(seconds: float) -> error_details_pb2.RetryInfo:
    whole = math.floor(seconds)
    return error_details_pb2.RetryInfo(
        retry_delay=duration_pb2.Duration(seconds=whole, nanos=int((seconds - whole) * 1e9))
    )


def _error_info(reason: str, **metadata: str) -> error_details_pb2.ErrorInfo:
    return error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN, metadata=metadata)


def _status(code: int, message: str, *details: object) -> grpc.Status:
    packed = []
    for detail in details:
        any_detail = any_pb2.Any()
        any_detail.Pack(detail)  # type: ignore[arg-type]
        packed.append(any_detail)
    return rpc_status.to_status(status_pb2.Status(code=code, message=message, details=packed))
