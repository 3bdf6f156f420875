"""Request bytes that cannot be decoded become INVALID_ARGUMENT, never UNKNOWN.

gRPC decodes each request message before the servicer sees it. A deserializer that
raises ends the call as UNKNOWN with the decoder's internal text, and in a stream it
loses every result not yet sent. The service's deserializers return an
UndecodableMessage instead, which the API layer answers in its own words.
"""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from heap_destination.domain.limits import MAX_NESTING_DEPTH
from heap_destination.domain.violations import FieldViolation, InvalidInput


@dataclass(frozen=True)
class UndecodableMessage:
    """A request message that is not a valid protobuf message of its type."""

    problem: str


def safe_deserializer(deserialize: Callable[[bytes], Any] | None) -> Callable[[bytes], Any]:
    """`deserialize`, returning an UndecodableMessage where it would raise."""

    def decode(data: bytes) -> Any:
        if deserialize is None:
            return data
        try:
            return deserialize(data)
        except Exception as error:  # the decoder raises DecodeError, and others for bad bytes
            return UndecodableMessage(_problem(error))

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


def _problem(error: Exception) -> str:
    text = str(error)
    if "UTF-8" in text:
        return "cannot be decoded: a string field is not valid UTF-8"
    if "Depth" in text or "depth" in text:
        return (
            "cannot be decoded: it nests too deeply (property and trait values may nest at "
            f"most {MAX_NESTING_DEPTH} levels)"
        )
    return "cannot be decoded as a protobuf message of the method's request type"
