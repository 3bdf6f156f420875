"""Request bytes that cannot be decoded become INVALID_ARGUMENT, never UNKNOWN.

gRPC decodes each request message before the servicer sees it. A deserializer that
raises ends the call as UNKNOWN with the decoder's internal text, and in a stream it
loses every result not yet sent. The service's deserializers return an
UndecodableMessage instead, which the API layer answers in its own words.
"""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from heap_destination.api.structs.bytes_messages import StreamEventsRequestWithStructBytes
from heap_destination.domain.limits import MAX_NESTING_DEPTH
from heap_destination.domain.violations import FieldViolation, InvalidInput
from heap_destination.v1 import service_pb2

_STRUCTS_AS_BYTES: dict[str, Callable[[bytes], Any]] = {
    f"/{service_pb2.DESCRIPTOR.services_by_name['HeapDestinationService'].full_name}"
    "/StreamEvents": StreamEventsRequestWithStructBytes.FromString,
}

REQUEST_TYPE = "a protobuf message of the method's request type"
STRUCT_TYPE = "a google.protobuf.Struct"


@dataclass(frozen=True)
class UndecodableMessage:
    """A request message that is not a valid protobuf message of its type."""

    problem: str


def request_deserializer(
    method: str, deserialize: Callable[[bytes], Any] | None
) -> Callable[[bytes], Any] | None:
    """How the service decodes `method`'s requests: as the contract's messages
    (`deserialize`), except StreamEvents, whose events keep their Structs as the bytes the
    caller sent (see structs/bytes_messages.py)."""
    return _STRUCTS_AS_BYTES.get(method, deserialize)


def safe_deserializer(deserialize: Callable[[bytes], Any] | None) -> Callable[[bytes], Any]:
    """`deserialize`, returning an UndecodableMessage where it would raise."""

    def decode(data: bytes) -> Any:
        if deserialize is None:
            return data
        try:
            return deserialize(data)
        except Exception as error:  # the decoder raises DecodeError, and others for bad bytes
            return UndecodableMessage(decode_problem(error, REQUEST_TYPE))

    return decode


def undecodable_request(message: UndecodableMessage) -> InvalidInput:
    return InvalidInput([FieldViolation("request", message.problem)])


async def decoded_messages(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """A stream's messages; raises InvalidInput naming the first one that cannot be
    decoded (message 1 is the first), after yielding every message before it."""
    number = 0
    async for message in requests:
        number += 1
        if isinstance(message, UndecodableMessage):
            raise InvalidInput([FieldViolation(f"message {number}", message.problem)])
        yield message


def decode_problem(error: Exception, message_type: str) -> str:
    """What is wrong with bytes protobuf could not decode as `message_type` (REQUEST_TYPE
    or STRUCT_TYPE), in the service's words."""
    text = str(error)
    if "UTF-8" in text:
        return "cannot be decoded: a string field is not valid UTF-8"
    if "Depth" in text or "depth" in text:
        return (
            "cannot be decoded: it nests too deeply (property and trait values may nest at "
            f"most {MAX_NESTING_DEPTH} levels)"
        )
    return f"cannot be decoded as {message_type}"
