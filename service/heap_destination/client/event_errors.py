"""A streamed event's error result as the grpc.RpcError a unary call raises.

The error carries the same google.rpc details in its trailing metadata, so
error_details() reads its code, reason, bad fields and retry delay the same way.
"""

from collections.abc import Callable

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from heap_destination.v1 import stream_pb2

_ERROR_DOMAIN = "heap-destination.v1"
_CODES = {code.value[0]: code for code in grpc.StatusCode}


class SenderClosed(RuntimeError):
    """The sender was closed: it takes no more events."""


class SenderFull(TimeoutError):
    """The sender's queue stayed full for the whole send timeout."""


class EventError(grpc.RpcError, grpc.Call):  # type: ignore[misc]
    """One event's failure, with the status a unary call would have ended with."""

    def __init__(self, status: grpc.Status) -> None:
        super().__init__(status.details)
        self._code: grpc.StatusCode = status.code
        self._details: str = status.details
        self._trailing_metadata: tuple[tuple[str, bytes], ...] = tuple(status.trailing_metadata)

    @classmethod
    def from_result(cls, result: stream_pb2.EventResult) -> "EventError":
        return cls(_status_of(result))

    @classmethod
    def of_stream(cls, code: grpc.StatusCode, message: str) -> "EventError":
        """An event that got no result because its stream ended with `code`."""
        status = status_pb2.Status(code=code.value[0], message=message)
        return cls(rpc_status.to_status(status))

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> tuple[tuple[str, bytes], ...]:
        return self._trailing_metadata

    def initial_metadata(self) -> tuple[tuple[str, bytes], ...]:
        return ()

    def is_active(self) -> bool:
        return False

    def time_remaining(self) -> float | None:
        return None

    def cancel(self) -> bool:
        return False

    def add_callback(self, callback: Callable[[], None]) -> bool:
        return False

    def __str__(self) -> str:
        return f"{self._code.name}: {self._details}"


def _status_of(result: stream_pb2.EventResult) -> grpc.Status:
    metadata = {}
    if result.unlisted_field_violations:
        metadata["unlisted_field_violations"] = str(result.unlisted_field_violations)
    details: list[object] = [
        error_details_pb2.ErrorInfo(reason=result.reason, domain=_ERROR_DOMAIN, metadata=metadata)
    ]
    if result.field_violations:
        violations = [
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in result.field_violations
        ]
        details.append(error_details_pb2.BadRequest(field_violations=violations))
    if result.HasField("retry_delay"):
        details.append(error_details_pb2.RetryInfo(retry_delay=result.retry_delay))
    packed = []
    for detail in details:
        any_detail = any_pb2.Any()
        any_detail.Pack(detail)  # type: ignore[arg-type]
        packed.append(any_detail)
    status = status_pb2.Status(code=result.code, message=result.message, details=packed)
    return rpc_status.to_status(status)
