"""DeliveryAdminService messages from and to what the store keeps.

A StoredEvent never carries the item's body: property values are not exposed.
"""

import base64
import math
import re

from google.protobuf import timestamp_pb2

from heap_destination.api.error_status import duration
from heap_destination.domain.violations import FieldViolation, InvalidInput
from heap_destination.store.items import AppBacklog, StoredItem
from heap_destination.v1 import admin_pb2

_ENDPOINTS = {
    "track": admin_pb2.HEAP_ENDPOINT_TRACK,
    "user_properties": admin_pb2.HEAP_ENDPOINT_USER_PROPERTIES,
    "identify": admin_pb2.HEAP_ENDPOINT_IDENTIFY,
    "account_properties": admin_pb2.HEAP_ENDPOINT_ACCOUNT_PROPERTIES,
}
_STATUSES = {
    "stored": admin_pb2.DELIVERY_STATUS_STORED,
    "delivering": admin_pb2.DELIVERY_STATUS_DELIVERING,
    "delivered": admin_pb2.DELIVERY_STATUS_DELIVERED,
    "dead": admin_pb2.DELIVERY_STATUS_DEAD,
}

_TOKEN_PREFIX = "after:"
_TOKEN_TEXT = re.compile(r"after:(0|[1-9][0-9]{0,18})")
_MAX_TOKEN_LENGTH = 64
_MAX_ID = 2**63 - 1


def stored_event(item: StoredItem) -> admin_pb2.StoredEvent:
    event = admin_pb2.StoredEvent(
        id=item.id,
        app_id=item.app_id,
        endpoint=_ENDPOINTS.get(item.endpoint, admin_pb2.HEAP_ENDPOINT_UNSPECIFIED),
        identity=item.identity,
        message_id=item.message_id,
        stream_event_id=item.stream_event_id,
        status=_STATUSES.get(item.status, admin_pb2.DELIVERY_STATUS_UNSPECIFIED),
        accepted_at=timestamp(item.accepted_at),
        attempts=item.attempts,
        last_error=item.last_error,
        heap_status=item.heap_status or 0,
        heap_body=item.heap_body,
    )
    if item.delivered_at is not None:
        event.delivered_at.CopyFrom(timestamp(item.delivered_at))
    if item.replayed_at is not None:
        event.replayed_at.CopyFrom(timestamp(item.replayed_at))
    return event


def app_backlog(backlog: AppBacklog, hold_reason: str) -> admin_pb2.AppBacklog:
    app = admin_pb2.AppBacklog(
        app_id=backlog.app_id,
        undelivered=backlog.undelivered,
        oldest_age=duration(max(0.0, backlog.oldest_age_seconds)),
        delivered_last_minute=backlog.delivered_last_minute,
        paused=backlog.paused,
        hold_reason=hold_reason,
    )
    if backlog.held_until is not None:
        app.held_until.CopyFrom(timestamp(backlog.held_until))
    return app


def timestamp(unix_seconds: float) -> timestamp_pb2.Timestamp:
    whole = math.floor(unix_seconds)
    nanos = min(int((unix_seconds - whole) * 1e9), 999_999_999)
    return timestamp_pb2.Timestamp(seconds=whole, nanos=nanos)


def page_token(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_TOKEN_PREFIX}{last_id}".encode()).decode()


def after_id(token: str) -> int | None:
    """The id a page_token continues after; None for the first page."""
    if not token:
        return None
    try:
        if len(token) > _MAX_TOKEN_LENGTH:
            raise ValueError
        text = base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True).decode()
    except ValueError:
        text = ""
    match = _TOKEN_TEXT.fullmatch(text)
    if match is None or int(match.group(1)) > _MAX_ID:
        raise InvalidInput(
            [FieldViolation("page_token", "must be the next_page_token of a previous page")]
        )
    return int(match.group(1))
