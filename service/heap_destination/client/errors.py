"""Reading the google.rpc details the service attaches to its errors."""

from dataclasses import dataclass, field

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


@dataclass
class ErrorDetails:
    code: grpc.StatusCode
    message: str
    reason: str = ""
    """The ErrorInfo reason, e.g. INVALID_EVENT, HEAP_UNAVAILABLE, HEAP_REJECTED."""
    field_violations: dict[str, str] = field(default_factory=dict)
    """BadRequest field -> description."""
    retry_delay: float | None = None
    """RetryInfo delay in seconds, when the service suggests one."""


def error_details(error: grpc.RpcError) -> ErrorDetails:
    """The status code, message and google.rpc details of a failed call."""
    call: grpc.Call = error
    details = ErrorDetails(code=call.code(), message=call.details() or "")
    status = rpc_status.from_call(call)
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            details.reason = info.reason
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            for violation in bad_request.field_violations:
                details.field_violations[violation.field] = violation.description
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            details.retry_delay = retry.retry_delay.ToTimedelta().total_seconds()
    return details
