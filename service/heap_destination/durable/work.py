"""Prepared calls as the items the store keeps: Heap's final fields, encoded once.

An event or identify the caller gave no timestamp gets the time it was accepted, so it
still carries the right time when it is delivered late.
"""

import dataclasses
from datetime import UTC, datetime

from heap_destination.delivery.heap.bodies import (
    account_object,
    event_object,
    identify_body,
    user_object,
)
from heap_destination.domain.account import PreparedAccount
from heap_destination.domain.destination import Destination
from heap_destination.domain.heap_calls import HeapUserProperties
from heap_destination.domain.identify import PreparedIdentify
from heap_destination.domain.json_text import encode
from heap_destination.domain.track import PreparedTrack
from heap_destination.store.items import Endpoint, NewItem


@dataclasses.dataclass
class Origin:
    """Which call carried the work, and when the service accepted it."""

    accepted_at: float
    message_id: str = ""
    stream_event_id: str = ""


def track_work(destination: Destination, track: PreparedTrack, origin: Origin) -> list[NewItem]:
    event = track.event
    accepted_at = _moment(origin) if event.timestamp is None else None
    items = [
        _item(
            destination,
            origin,
            "track",
            event.identity,
            event_object(event, accepted_at),
            event.idempotency_key,
        )
    ]
    if track.user_properties is not None:
        items.append(_user_item(destination, origin, track.user_properties))
    return items


def identify_work(
    destination: Destination, identify: PreparedIdentify, origin: Origin
) -> list[NewItem]:
    items = []
    if identify.user_properties is not None:
        items.append(_user_item(destination, origin, identify.user_properties))
    if identify.identify is not None:
        binding = identify.identify
        if binding.timestamp is None:
            binding = dataclasses.replace(binding, timestamp=_moment(origin))
        body = encode(identify_body(destination.app_id, binding))
        items.append(_item(destination, origin, "identify", binding.identity, body))
    return items


def account_work(
    destination: Destination, account: PreparedAccount, origin: Origin
) -> list[NewItem]:
    """An account has no identity: deleting a user never touches it."""
    body = account_object(account.account)
    return [_item(destination, origin, "account_properties", "", body)]


def _user_item(destination: Destination, origin: Origin, user: HeapUserProperties) -> NewItem:
    return _item(destination, origin, "user_properties", user.identity, user_object(user))


def _item(
    destination: Destination,
    origin: Origin,
    endpoint: Endpoint,
    identity: str,
    body: bytes,
    idempotency_key: str | None = None,
) -> NewItem:
    return NewItem(
        app_id=destination.app_id,
        base_url=destination.base_url,
        endpoint=endpoint,
        identity=identity,
        body=body,
        idempotency_key=idempotency_key,
        message_id=origin.message_id,
        stream_event_id=origin.stream_event_id,
        accepted_at=origin.accepted_at,
    )


def _moment(origin: Origin) -> datetime:
    return datetime.fromtimestamp(origin.accepted_at, UTC)
