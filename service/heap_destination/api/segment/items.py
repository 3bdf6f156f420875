"""One Segment item to the input of the call gRPC would make for it: track, page and screen
to a Track call, identify to an Identify call, group to an account update; alias is taken
and counted (Heap has nothing like it).

Only the item's shape is checked here (known fields of the right JSON type, its size,
its timestamps); every rule about the values is the domain's, applied to the input by
the one intake (api/intake.py). Violations name the Segment field.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from heap_destination.api.segment.body import MAX_ITEM_BYTES, item_json, json_type
from heap_destination.domain.account import AccountInput
from heap_destination.domain.identify import IdentifyInput
from heap_destination.domain.identity import anonymous_only
from heap_destination.domain.track import EventType, TrackInput
from heap_destination.domain.violations import FieldViolation, InvalidInput

SEGMENT_TYPES = ("track", "page", "screen", "identify", "group", "alias")
_EVERY_TYPE = frozenset(SEGMENT_TYPES)
_TRACK_LIKE = frozenset({"track", "page", "screen"})
# Each known field: its JSON type, and the item types that use it (a field an item's type
# does not use is ignored, as unknown fields are).
_KNOWN_FIELDS: dict[str, tuple[type, frozenset[str]]] = {
    "type": (str, _EVERY_TYPE),
    "messageId": (str, _EVERY_TYPE),
    "userId": (str, _EVERY_TYPE),
    "anonymousId": (str, _EVERY_TYPE),
    "timestamp": (str, _EVERY_TYPE),
    "originalTimestamp": (str, _EVERY_TYPE),
    "sentAt": (str, _EVERY_TYPE),
    "context": (dict, _EVERY_TYPE),
    "integrations": (dict, _EVERY_TYPE),
    "event": (str, frozenset({"track"})),
    "name": (str, frozenset({"page", "screen"})),
    "groupId": (str, frozenset({"group"})),
    "previousId": (str, frozenset({"alias"})),
    "properties": (dict, _TRACK_LIKE),
    "traits": (dict, frozenset({"identify", "group"})),
}
_TYPE_WORDS: dict[type, str] = {str: "a string", dict: "an object"}
_OF_THE_BATCH = " (the batch's)"
_TRACK_TYPES = {"track": EventType.TRACK, "page": EventType.PAGE, "screen": EventType.SCREEN}
# The domain's field names, as the Segment item of each call names them.
_TRACK_FIELDS = {
    "user_id": "userId",
    "anonymous_id": "anonymousId",
    "message_id": "messageId",
    "traits": "context.traits",
}
_IDENTIFY_FIELDS = {"user_id": "userId", "anonymous_id": "anonymousId", "message_id": "messageId"}
_ACCOUNT_FIELDS = {"account_id": "groupId", "properties": "traits", "message_id": "messageId"}
SEGMENT_FIELDS = {"track": _TRACK_FIELDS, "identify": _IDENTIFY_FIELDS, "account": _ACCOUNT_FIELDS}

NO_IDENTITY = "no identity"
NOT_FOR_HEAP = "integrations"


@dataclass(frozen=True)
class Batch:
    """What a request's items share: the batch's own fields, and when it arrived."""

    received_at: datetime
    context: Mapping[str, Any]
    integrations: Mapping[str, Any]
    sent_at: datetime | None
    anonymous_id_as_identity: bool
    violations: tuple[FieldViolation, ...] = ()
    """The batch's own fields of the wrong type: they make each of its items invalid
    (a 400 would make an SDK drop them all)."""


@dataclass(frozen=True)
class MappedItem:
    kind: str
    """"track", "identify" or "account" (api/intake.py's KINDS), or "alias"."""
    value: TrackInput | IdentifyInput | AccountInput | None
    message_id: str
    size: int
    """Its JSON bytes."""


@dataclass(frozen=True)
class SkippedItem:
    reason: str
    """NOT_FOR_HEAP or NO_IDENTITY."""


def batch_of(body: Mapping[str, Any], received_at: datetime, *, anonymous: bool) -> Batch:
    """The batch-level fields (of a batch body; a single call's body is its item), with
    any of the wrong type named as the batch's."""
    violations: list[FieldViolation] = []
    context = _object(body, "context", violations)
    integrations = _object(body, "integrations", violations)
    sent_at = _timestamp(body, "sentAt", violations, typed=True)
    of_the_batch = tuple(FieldViolation(v.field, v.description + _OF_THE_BATCH) for v in violations)
    return Batch(received_at, context, integrations, sent_at, anonymous, of_the_batch)


def map_item(raw: object, batch: Batch, route_type: str | None) -> MappedItem | SkippedItem:
    """The call for one item (of the type its route says, or its own "type" in a batch);
    raises InvalidInput naming the field and the rule."""
    if not isinstance(raw, dict):
        raise InvalidInput([FieldViolation("item", f"must be an object, not {json_type(raw)}")])
    size = len(item_json(raw))
    if size > MAX_ITEM_BYTES:
        raise InvalidInput(
            [
                FieldViolation(
                    "item",
                    f"is {size} bytes of JSON; at most {MAX_ITEM_BYTES} (Segment's item limit)",
                )
            ]
        )
    violations = list(batch.violations)
    item_type = route_type or _text(raw, "type")
    for name, given in raw.items():
        expected, used_by = _KNOWN_FIELDS.get(name, (None, _EVERY_TYPE))
        if (
            expected is not None
            and (used_by is _EVERY_TYPE or item_type in used_by)
            and given is not None
            and not isinstance(given, expected)
        ):
            violations.append(
                FieldViolation(name, f"must be {_TYPE_WORDS[expected]}, not {json_type(given)}")
            )
    context = {**batch.context, **_dict(raw.get("context"))}
    context_traits = context.get("traits")
    if (
        item_type in _TRACK_LIKE
        and context_traits is not None
        and not isinstance(context_traits, dict)
    ):
        violations.append(
            FieldViolation("context.traits", f"must be an object, not {json_type(context_traits)}")
        )
    if not violations and item_type not in SEGMENT_TYPES:
        violations.append(
            FieldViolation("type", f"must be one of {', '.join(SEGMENT_TYPES)}")
            if item_type
            else FieldViolation("type", "required: one of " + ", ".join(SEGMENT_TYPES))
        )
    timestamp = _item_timestamp(raw, batch, violations)
    if violations:
        raise InvalidInput(violations)
    integrations = {**batch.integrations, **_dict(raw.get("integrations"))}
    if not _for_heap(integrations):
        return SkippedItem(NOT_FOR_HEAP)
    user_id, anonymous_id = _text(raw, "userId"), _text(raw, "anonymousId")
    if (
        item_type not in ("group", "alias")
        and not batch.anonymous_id_as_identity
        and anonymous_only(user_id, anonymous_id)
    ):
        return SkippedItem(NO_IDENTITY)
    message_id = _text(raw, "messageId")
    value: TrackInput | IdentifyInput | AccountInput | None
    if item_type in _TRACK_TYPES:
        kind = "track"
        value = TrackInput(
            user_id=user_id,
            anonymous_id=anonymous_id,
            event=_text(raw, "event") if item_type == "track" else "",
            type=_TRACK_TYPES[item_type],
            name=_text(raw, "name") if item_type != "track" else "",
            properties=_dict(raw.get("properties")),
            traits=_dict(context_traits),
            timestamp=timestamp,
            message_id=message_id,
        )
    elif item_type == "identify":
        kind = "identify"
        value = IdentifyInput(
            user_id=user_id,
            anonymous_id=anonymous_id,
            traits=_dict(raw.get("traits")),
            timestamp=timestamp,
            message_id=message_id,
        )
    elif item_type == "group":
        kind = "account"
        value = AccountInput(
            account_id=_text(raw, "groupId"),
            properties=_dict(raw.get("traits")),
            message_id=message_id,
        )
    else:
        kind, value = "alias", None
    return MappedItem(kind, value, message_id, size)


def segment_violations(kind: str, error: InvalidInput) -> InvalidInput:
    """The domain's violations of a `kind` call, with the fields named as the Segment item
    names them (user_id as userId, a track's traits as context.traits, ...)."""
    names = SEGMENT_FIELDS.get(kind, {})
    return InvalidInput(
        [FieldViolation(_renamed(v.field, names), v.description) for v in error.violations]
    )


def _renamed(field: str, names: Mapping[str, str]) -> str:
    for domain_name, segment_name in names.items():
        if field == domain_name or field.startswith((domain_name + ".", domain_name + "[")):
            return segment_name + field[len(domain_name) :]
    return field


def _for_heap(integrations: Mapping[str, Any]) -> bool:
    """Segment's rule: {"Heap": false} keeps an item from Heap, and so does {"All": false}
    unless "Heap" is enabled by name."""
    heap = integrations.get("Heap")
    if heap is not None:
        return heap is not False
    return integrations.get("All") is not False


def _item_timestamp(
    raw: Mapping[str, Any], batch: Batch, violations: list[FieldViolation]
) -> datetime | None:
    """`timestamp`; else `originalTimestamp` moved by the client's clock skew (the
    receive time minus `sentAt`, the item's or the batch's), as Segment does; else the
    request's receive time (in either ack mode, so never Heap's)."""
    timestamp = _timestamp(raw, "timestamp", violations)
    original = _timestamp(raw, "originalTimestamp", violations)
    sent_at = _timestamp(raw, "sentAt", violations) or batch.sent_at
    if timestamp is not None:
        return timestamp
    if original is None:
        return batch.received_at
    if sent_at is None:
        return original
    try:
        return original + (batch.received_at - sent_at)
    except OverflowError:
        violations.append(
            FieldViolation("originalTimestamp", "corrected by sentAt, falls outside years 1-9999")
        )
        return None


def _timestamp(
    raw: Mapping[str, Any], name: str, violations: list[FieldViolation], *, typed: bool = False
) -> datetime | None:
    """A date-time field's value; a string that is not one is added to `violations` (a
    value of another type too, when `typed`: the item's fields were checked already)."""
    value = raw.get(name)
    if not isinstance(value, str):
        if typed and value is not None:
            violations.append(FieldViolation(name, f"must be a string, not {json_type(value)}"))
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        violations.append(
            FieldViolation(name, "must be an ISO-8601 date and time, like 2026-12-07T08:00:00Z")
        )
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _object(
    raw: Mapping[str, Any], name: str, violations: list[FieldViolation]
) -> Mapping[str, Any]:
    value = raw.get(name)
    if value is not None and not isinstance(value, dict):
        violations.append(FieldViolation(name, f"must be an object, not {json_type(value)}"))
        return {}
    return value or {}


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(raw: Mapping[str, Any], name: str) -> str:
    value = raw.get(name)
    return value if isinstance(value, str) else ""
