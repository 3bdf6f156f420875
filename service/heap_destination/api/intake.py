"""One intake for every call and streamed event: resolve the destination, prepare the
Heap work, then store it (ack mode STORED) or deliver it (admitted and queued by the
engine), and answer.

Unary calls (servicer.py) and streams (event_stream.py) both take their requests here,
so a new kind of event is added once: an entry in KINDS.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message

from heap_destination.api.mapping.account import account_input, account_response
from heap_destination.api.mapping.identify import identify_input, identify_response
from heap_destination.api.mapping.track import track_input, track_response
from heap_destination.api.request_destination import DestinationResolver, request_config
from heap_destination.delivery.engine import DeliveryEngine
from heap_destination.delivery.outcomes import Answer
from heap_destination.domain.account import prepare_account
from heap_destination.domain.ack_mode import AckMode
from heap_destination.domain.destination import Destination
from heap_destination.domain.identify import prepare_identify
from heap_destination.domain.property_warnings import PropertyWarning
from heap_destination.domain.track import prepare_track
from heap_destination.durable.work import Origin, account_work, identify_work, track_work
from heap_destination.store import NewItem
from heap_destination.v1 import account_pb2, identify_pb2, track_pb2

Request = (
    track_pb2.TrackEventRequest
    | identify_pb2.IdentifyUserRequest
    | account_pb2.UpdateAccountRequest
)


class PreparedCall:
    """A call or streamed event, validated and prepared for Heap."""

    __slots__ = ("_kind", "_prepared", "destination", "warnings")

    def __init__(self, kind: "_Kind", destination: Destination, prepared: Any) -> None:
        self.destination = destination
        self.warnings: Sequence[PropertyWarning] = prepared.warnings
        self._kind = kind
        self._prepared = prepared

    @property
    def stored(self) -> bool:
        return self.destination.ack_mode is AckMode.STORED

    def work(self, origin: Origin) -> Sequence[NewItem]:
        """What the store keeps of it, in ack mode STORED."""
        return self._kind.work(self.destination, self._prepared, origin)

    def deliver(
        self, engine: DeliveryEngine, deadline: float, caller: str, *, from_stream: bool
    ) -> Awaitable[asyncio.Future[Any]]:
        """Admits and queues it, giving the future that resolves once Heap accepted it
        (see DeliveryEngine.submit_track)."""
        submit = self._kind.submit(engine)
        return submit(self.destination, self._prepared, deadline, caller, from_stream=from_stream)

    def deliver_now(
        self, engine: DeliveryEngine, deadline: float, caller: str, answer: Answer
    ) -> bool:
        """For a stream: queues it if that needs no wait, and tells `answer` the outcome
        (see DeliveryEngine.submit_track_now); False, with nothing queued, otherwise."""
        submit_now = self._kind.submit_now
        if submit_now is None:
            return False
        return submit_now(engine)(self.destination, self._prepared, deadline, caller, answer)

    def answer(self) -> Message:
        """The unary call's response."""
        return self._kind.answer(self.destination, self._prepared)


def prepare(kind: str, request: Request, destinations: DestinationResolver) -> PreparedCall:
    """Raises InvalidInput, or PermissionDenied when the caller may not use the app."""
    spec = KINDS[kind]
    destination = destinations.resolve(request_config(request))
    return prepare_input(kind, spec.to_input(request), destination)


def prepare_input(kind: str, value: Any, destination: Destination) -> PreparedCall:
    """A call given as the domain's input (TrackInput, IdentifyInput, AccountInput), as
    the HTTP intake maps its items; raises InvalidInput."""
    spec = KINDS[kind]
    return PreparedCall(spec, destination, spec.prepare(value, destination))


@dataclass(frozen=True)
class _Kind:
    """How one kind of call is validated, stored, delivered and answered."""

    to_input: Callable[[Any], Any]
    prepare: Callable[[Any, Destination], Any]
    work: Callable[[Destination, Any, Origin], Sequence[NewItem]]
    submit: Callable[[DeliveryEngine], Callable[..., Awaitable[asyncio.Future[Any]]]]
    answer: Callable[[Destination, Any], Message]
    submit_now: Callable[[DeliveryEngine], Callable[..., bool]] | None = None
    """Queues without a wait when it can (DeliveryEngine.submit_track_now); None for a
    kind that always takes the awaited way."""


KINDS: dict[str, _Kind] = {
    "track": _Kind(
        track_input,
        prepare_track,
        track_work,
        lambda e: e.submit_track,
        track_response,
        lambda e: e.submit_track_now,
    ),
    "identify": _Kind(
        identify_input,
        prepare_identify,
        identify_work,
        lambda e: e.submit_identify,
        identify_response,
    ),
    "account": _Kind(
        account_input,
        prepare_account,
        account_work,
        lambda e: e.submit_account,
        account_response,
    ),
}
