"""A failed user deletion as a gRPC status with an ErrorInfo (and RetryInfo when Heap
gave a hint). The API key never appears: the errors are worded without it."""

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from heap_destination.api.deletion.rights import DeletionNotAllowed
from heap_destination.api.error_status import ERROR_DOMAIN, duration
from heap_destination.delivery.deletion.errors import (
    DeletionError,
    DeletionRejected,
    DeletionUnavailable,
    HeapApiKeyMissing,
    HeapApiKeyRefused,
)

STORE_UNREACHABLE = "the store cannot be reached, so nothing was deleted; call again"

# Heap's permanent answers to user_deletion and deletion_status; any other is
# FAILED_PRECONDITION.
_REJECTION_CODES = {
    400: code_pb2.INVALID_ARGUMENT,
    404: code_pb2.NOT_FOUND,
    413: code_pb2.INVALID_ARGUMENT,
    422: code_pb2.INVALID_ARGUMENT,
}


def deletion_error_status(error: DeletionError | DeletionNotAllowed) -> grpc.Status:
    if isinstance(error, DeletionNotAllowed):
        return _status(code_pb2.PERMISSION_DENIED, str(error), "DELETION_NOT_ALLOWED")
    if isinstance(error, HeapApiKeyMissing):
        return _status(code_pb2.FAILED_PRECONDITION, str(error), "HEAP_API_KEY_MISSING")
    if isinstance(error, HeapApiKeyRefused):
        return _status(
            code_pb2.FAILED_PRECONDITION,
            str(error),
            "HEAP_API_KEY_REFUSED",
            {"app_id": error.app_id, "heap_status": str(error.status)},
        )
    if isinstance(error, DeletionRejected):
        return _status(
            _REJECTION_CODES.get(error.status, code_pb2.FAILED_PRECONDITION),
            f"Heap rejected the request permanently: {error}",
            "HEAP_REJECTED",
            {"heap_status": str(error.status), **_submitted(error.submitted)},
        )
    retry_after = error.retry_after if isinstance(error, DeletionUnavailable) else None
    submitted = error.submitted if isinstance(error, DeletionUnavailable) else ()
    return _status(
        code_pb2.UNAVAILABLE,
        f"Heap did not take the request, call again: {error}",
        "HEAP_UNAVAILABLE",
        _submitted(submitted),
        retry_after,
    )


def store_unreachable_status() -> grpc.Status:
    return _status(code_pb2.UNAVAILABLE, STORE_UNREACHABLE, "STORE_UNAVAILABLE")


def _submitted(request_ids: tuple[str, ...]) -> dict[str, str]:
    """Deletion requests Heap took before a later one of the same call failed."""
    return {"submitted_deletion_request_ids": ",".join(request_ids)} if request_ids else {}


def _status(
    code: int,
    message: str,
    reason: str,
    metadata: dict[str, str] | None = None,
    retry_delay: float | None = None,
) -> grpc.Status:
    details: list[Message] = [
        error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN, metadata=metadata or {})
    ]
    if retry_delay is not None:
        details.append(error_details_pb2.RetryInfo(retry_delay=duration(retry_delay)))
    packed = []
    for detail in details:
        any_detail = any_pb2.Any()
        any_detail.Pack(detail)
        packed.append(any_detail)
    return rpc_status.to_status(status_pb2.Status(code=code, message=message, details=packed))
