"""One Segment request through the service's one intake: read the body, find the write
key's app, map each item to its call, prepare it by the same rules as a gRPC call
(api/intake.py), then commit the valid ones (ack mode STORED) or deliver them, and answer.

An invalid item never fails its batch: it is listed in the answer and, with a store,
kept as a dead letter that is never replayed. Only a body that is not a batch at all
is a 400; a full store or the in-flight bound a 429; a store or Heap out of reach a 503.
"""

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from heap_destination.api import event_metrics
from heap_destination.api.caller import CURRENT_CALLER, PermissionDenied
from heap_destination.api.error_status import describe
from heap_destination.api.in_flight import InFlightLimit
from heap_destination.api.intake import PreparedCall, prepare_input
from heap_destination.api.request_destination import DestinationResolver
from heap_destination.api.segment.body import (
    NotABatch,
    batch_items,
    inflate,
    item_json,
    parse_object,
)
from heap_destination.api.segment.items import (
    Batch,
    MappedItem,
    SkippedItem,
    batch_of,
    map_item,
    segment_violations,
)
from heap_destination.api.segment.write_keys import WriteKey, WriteKeys, WrongKey, header_key
from heap_destination.api.unary_calls import OVERLOADED_RETRY_AFTER
from heap_destination.delivery.engine import DeliveryEngine
from heap_destination.delivery.errors import (
    DeliveryError,
    HeapRejected,
    HeapUnavailable,
    NoRoomInStore,
    Overloaded,
    RateLimited,
    ShuttingDown,
)
from heap_destination.delivery.outcomes import delivery_error
from heap_destination.domain.ack_mode import AckMode
from heap_destination.domain.destination import Destination, DestinationSettings
from heap_destination.domain.violations import InvalidInput
from heap_destination.durable.intake import StoredIntake, required_intake
from heap_destination.durable.work import Origin
from heap_destination.metrics import HTTP_ITEMS
from heap_destination.store import NewItem
from heap_destination.store.items import Endpoint

log = logging.getLogger(__name__)

ANSWER_WITHIN = 9.0
"""Seconds a request may take: Segment's SDKs give up after 10."""
MAX_LISTED_REJECTIONS = 100
_MAX_REASON_CHARACTERS = 500
_REJECTED = HTTP_ITEMS.labels("rejected")
INVALID_ITEM = "invalid Segment item:"
"""How the reason of an invalid item's dead letter begins."""
# The endpoint a dead letter shows: the one its call would have reached first.
_DEAD_LETTER_ENDPOINTS: dict[str, Endpoint] = {
    "track": "track",
    "identify": "user_properties",
    "account": "account_properties",
}


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    retry_after: float | None = None


@dataclass
class _Rejection:
    index: int
    message_id: str
    reason: str
    kind: str
    item: object


@dataclass
class _Tally:
    taken: list[tuple[int, MappedItem, PreparedCall]] = field(default_factory=list)
    """Each valid item with its index in the request and its prepared call."""
    aliases: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    rejected: list[_Rejection] = field(default_factory=list)
    """Invalid items: dead letters, with a store."""
    counted: event_metrics.StreamTally = field(
        default_factory=lambda: event_metrics.StreamTally("http")
    )
    """The events received and taken, added to the metrics once per request."""
    refused: list[_Rejection] = field(default_factory=list)
    """Valid items Heap refused for their content (ack mode DELIVERED): listed in the
    200, since sending them again cannot help. Heap refusing the app (401, 403, 404) is
    a 503 instead: the batch may go through once the app is mended."""


class SegmentIntake:
    def __init__(
        self,
        engine: DeliveryEngine,
        defaults: DestinationSettings,
        allowed_base_urls: frozenset[str],
        in_flight: InFlightLimit,
        stored_intake: StoredIntake | None,
        write_keys: WriteKeys,
        ack_mode: AckMode,
    ) -> None:
        self._engine = engine
        self._defaults = defaults
        self._allowed_base_urls = allowed_base_urls
        self._in_flight = in_flight
        self._stored_intake = stored_intake
        self._write_keys = write_keys
        self._ack_mode = ack_mode
        # One per app a write key sends to (tokens' apps and the default: few), each
        # resolving its destination once.
        self._resolvers: dict[str, DestinationResolver] = {}

    async def take(
        self,
        route_type: str | None,
        raw: bytes,
        content_encoding: str,
        authorization: str | None,
    ) -> Reply:
        """One request to a route (`route_type` is its item type; None for a batch)."""
        received_at = datetime.now(UTC)
        try:
            # A header that is no Basic key (the SDKs' OAuth mode sends a Bearer token)
            # leaves the key to the body's writeKey.
            in_header = header_key(authorization) if authorization else None
            key = self._write_keys.resolve(authorization, None) if in_header else None
            body = parse_object(inflate(raw, content_encoding))
            if key is None:
                key = self._write_keys.resolve(None, body.get("writeKey"))
            items = batch_items(body) if route_type is None else [body]
        except WrongKey as error:
            return _unauthorized(str(error))
        except NotABatch as error:
            return _bad_request(str(error))
        token = CURRENT_CALLER.set(key.caller)
        try:
            destination = self._destination(key)
        except (InvalidInput, PermissionDenied) as error:
            return _unauthorized(f"the write key's app_id {key.app_id!r} cannot be used: {error}")
        finally:
            CURRENT_CALLER.reset(token)
        # A single call's body is its item: its own fields are the item's, not a batch's.
        batch = batch_of(
            body if route_type is None else {},
            received_at,
            anonymous=destination.anonymous_id_as_identity,
        )
        tally = _mapped(items, batch, route_type, destination)
        try:
            if destination.ack_mode is AckMode.STORED:
                await self._store(tally, destination, raw_size=len(raw))
            else:
                await self._deliver(tally, key, destination)
        except DeliveryError as error:
            for _, item, call in tally.taken:
                event_metrics.settled(item.kind, error, call.warnings)
            return _retry_later(error)
        finally:
            tally.counted.add_up()
        return _taken(tally, destination, stored=self._stored_intake is not None)

    def _destination(self, key: WriteKey) -> Destination:
        resolver = self._resolvers.get(key.app_id)
        if resolver is None:
            settings = DestinationSettings(app_id=key.app_id, ack_mode=self._ack_mode)
            resolver = DestinationResolver(settings.over(self._defaults), self._allowed_base_urls)
            self._resolvers[key.app_id] = resolver
        return resolver.resolve(None)

    async def _store(self, tally: _Tally, destination: Destination, raw_size: int) -> None:
        stored_intake = required_intake(self._stored_intake)
        if self._engine.draining:
            raise ShuttingDown()
        accepted_at = time.time()
        work: list[NewItem] = []
        for _, item, call in tally.taken:
            work.extend(call.work(Origin(accepted_at, item.message_id)))
        work.extend(_dead_letters(tally.rejected, destination, accepted_at))
        if not work:
            return
        deadline = self._engine.deadline(ANSWER_WITHIN)
        sizes = [item.size for _, item, _ in tally.taken] or [raw_size]
        self._take_in_flight(sizes)
        try:
            await stored_intake.store(work, deadline)
        finally:
            for size in sizes:
                self._in_flight.give_back(size)
        for _, item, call in tally.taken:
            tally.counted.succeeded(item.kind, call.warnings, stored=True)

    async def _deliver(self, tally: _Tally, key: WriteKey, destination: Destination) -> None:
        if self._engine.draining:
            raise ShuttingDown()
        if self._stored_intake is not None and tally.rejected:
            letters = _dead_letters(tally.rejected, destination, time.time())
            await self._stored_intake.store(letters, self._engine.deadline(ANSWER_WITHIN))
        if not tally.taken:
            return
        deadline = self._engine.deadline(ANSWER_WITHIN)
        fairness = f"token {key.caller.name}" if key.caller is not None else "http"
        sizes = [item.size for _, item, _ in tally.taken]
        self._take_in_flight(sizes)
        try:
            futures = []
            for _, _, call in tally.taken:
                futures.append(
                    await call.deliver(self._engine, deadline, fairness, from_stream=False)
                )
            _, pending = await asyncio.wait(futures, timeout=max(0.0, deadline - time.monotonic()))
            if pending:
                raise ShuttingDown() if self._engine.draining else _heap_too_slow()
            errors = [delivery_error(future) for future in futures]
            failed = next((e for e in errors if e is not None and not _refused(e)), None)
            if failed is not None:
                raise failed
            still_taken = []
            for (index, item, call), error in zip(tally.taken, errors, strict=True):
                if error is None:
                    tally.counted.succeeded(item.kind, call.warnings, stored=False)
                    still_taken.append((index, item, call))
                else:
                    event_metrics.settled(item.kind, error, call.warnings)
                    tally.refused.append(
                        _Rejection(index, item.message_id, str(error), item.kind, None)
                    )
            tally.taken = still_taken
        finally:
            for size in sizes:
                self._in_flight.give_back(size)

    def _take_in_flight(self, sizes: Sequence[int]) -> None:
        """Counts the request's items against the service's in-flight bound, all or
        none: raises Overloaded when they do not fit (a request always fits when
        nothing else is in flight)."""
        if not self._in_flight.has_room_for(len(sizes), sum(sizes)):
            raise Overloaded(OVERLOADED_RETRY_AFTER)
        for size in sizes:
            self._in_flight.take(size)


def _mapped(
    items: Sequence[object], batch: Batch, route_type: str | None, destination: Destination
) -> _Tally:
    tally = _Tally()
    for index, raw in enumerate(items):
        message_id = ""
        kind = "track"
        try:
            mapped = map_item(raw, batch, route_type)
            if isinstance(mapped, SkippedItem):
                tally.skipped[mapped.reason] = tally.skipped.get(mapped.reason, 0) + 1
                continue
            message_id, kind = mapped.message_id, mapped.kind
            if mapped.kind == "alias":
                tally.aliases += 1
                continue
            tally.counted.received(mapped.kind)
            try:
                call = prepare_input(mapped.kind, mapped.value, destination)
            except InvalidInput as error:
                event_metrics.settled(mapped.kind, error, ())
                raise segment_violations(mapped.kind, error) from None
            tally.taken.append((index, mapped, call))
        except InvalidInput as error:
            if isinstance(raw, dict) and isinstance(raw.get("messageId"), str):
                message_id = raw["messageId"]
            tally.rejected.append(_Rejection(index, message_id, str(error), kind, raw))
    return tally


def _dead_letters(
    rejected: Sequence[_Rejection], destination: Destination, accepted_at: float
) -> list[NewItem]:
    """The invalid items as dead letters that are never delivered or replayed (see
    NewItem.dead), each with the item as sent."""
    letters = []
    for rejection in rejected:
        raw = rejection.item
        user_id = raw.get("userId") if isinstance(raw, dict) else None
        letters.append(
            NewItem(
                app_id=destination.app_id,
                base_url=destination.base_url,
                endpoint=_DEAD_LETTER_ENDPOINTS.get(rejection.kind, "track"),
                identity=user_id if isinstance(user_id, str) else "",
                body=item_json(raw),
                message_id=rejection.message_id,
                accepted_at=accepted_at,
                dead=f"{INVALID_ITEM} {rejection.reason}",
            )
        )
    return letters


def _taken(tally: _Tally, destination: Destination, *, stored: bool) -> Reply:
    """The 200: every valid item committed or delivered; the rest counted and listed."""
    HTTP_ITEMS.labels("taken").inc(len(tally.taken))
    if tally.aliases:
        HTTP_ITEMS.labels("alias").inc(tally.aliases)
    for reason, count in tally.skipped.items():
        HTTP_ITEMS.labels("skipped_" + reason.replace(" ", "_")).inc(count)
    rejected = sorted(tally.rejected + tally.refused, key=lambda r: r.index)
    if rejected:
        _REJECTED.inc(len(rejected))
        log.warning(
            "Segment items rejected",
            extra={
                "app_id": destination.app_id,
                "invalid": len(tally.rejected),
                "refused_by_heap": len(tally.refused),
                "dead_letters": stored and bool(tally.rejected),
                "fields": sorted({r.reason.partition(":")[0][:80] for r in tally.rejected})[:10],
            },
        )
    body: dict[str, Any] = {"success": True, "taken": len(tally.taken)}
    if tally.aliases:
        body["aliases"] = tally.aliases
    if tally.skipped:
        body["skipped"] = dict(tally.skipped)
    if rejected:
        body["rejected"] = [
            {
                "index": r.index,
                "messageId": r.message_id,
                "reason": r.reason[:_MAX_REASON_CHARACTERS],
            }
            for r in rejected[:MAX_LISTED_REJECTIONS]
        ]
        if len(rejected) > MAX_LISTED_REJECTIONS:
            body["unlisted_rejected"] = len(rejected) - MAX_LISTED_REJECTIONS
    return Reply(200, body)


def _refused(error: DeliveryError) -> bool:
    """Whether Heap refused an item for its content, for good."""
    return isinstance(error, HeapRejected) and error.about_the_content


def _heap_too_slow() -> DeliveryError:
    return HeapUnavailable("Heap did not answer in time; send the batch again")


def _retry_later(error: DeliveryError) -> Reply:
    """429 with Retry-After when the service or the store has no room, or Heap's rate
    limits are used up; 503 when the store or Heap is out of reach: the SDKs retry both."""
    description = describe(error)
    body = {"success": False, "code": description.reason.lower(), "message": str(error)}
    if isinstance(error, (Overloaded, NoRoomInStore, RateLimited)):
        return Reply(429, body, error.retry_after)
    return Reply(503, body, description.retry_delay)


def _unauthorized(reason: str) -> Reply:
    return Reply(401, {"success": False, "code": "unauthorized", "message": reason})


def _bad_request(reason: str) -> Reply:
    return Reply(400, {"success": False, "code": "bad_request", "message": reason})
