"""A Track call (track, page or screen) to the Heap calls that deliver it."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from heap_destination.domain.destination import Destination
from heap_destination.domain.heap_calls import HeapEvent, HeapUserProperties
from heap_destination.domain.identity import resolve_identity
from heap_destination.domain.json_value import FlatValue
from heap_destination.domain.limits import MAX_EVENT_NAME_LENGTH, MAX_MESSAGE_ID_LENGTH
from heap_destination.domain.properties import prepare_properties, prepare_user_properties
from heap_destination.domain.property_source import PropertyValues
from heap_destination.domain.property_warnings import PropertyWarning
from heap_destination.domain.text import (
    NO_CONTROL_CHARACTERS,
    has_control_characters,
    shown,
    trim_invisible,
)
from heap_destination.domain.violations import FieldViolation, raise_if_any


class EventType(Enum):
    TRACK = "track"
    PAGE = "page"
    SCREEN = "screen"


FIXED_EVENT_NAMES = {EventType.PAGE: "Page viewed", EventType.SCREEN: "Screen viewed"}


@dataclass
class TrackInput:
    user_id: str = ""
    anonymous_id: str = ""
    event: str = ""
    type: EventType = EventType.TRACK
    name: str = ""
    properties: PropertyValues = field(default_factory=dict)
    traits: PropertyValues = field(default_factory=dict)
    timestamp: datetime | None = None
    message_id: str = ""
    session_id: str = ""


@dataclass
class PreparedTrack:
    event: HeapEvent
    user_properties: HeapUserProperties | None
    warnings: tuple[PropertyWarning, ...]


def prepare_track(request: TrackInput, destination: Destination) -> PreparedTrack:
    """Validates a Track call and builds what Heap receives; raises InvalidInput."""
    violations: list[FieldViolation] = []
    identity = resolve_identity(
        request.user_id,
        request.anonymous_id,
        anonymous_id_as_identity=destination.anonymous_id_as_identity,
    )
    if isinstance(identity, FieldViolation):
        violations.append(identity)
    event_name = _event_name(request, violations)
    if len(request.message_id) > MAX_MESSAGE_ID_LENGTH:
        violations.append(
            FieldViolation("message_id", f"must be at most {MAX_MESSAGE_ID_LENGTH} characters")
        )
    extra: dict[str, tuple[FlatValue, str]] = {}
    if request.type is not EventType.TRACK and request.name:
        extra["name"] = (request.name, "name")
    elif request.type is EventType.TRACK and request.name:
        violations.append(FieldViolation("name", "only page and screen calls take a name"))
    properties = prepare_properties(
        request.properties,
        destination.nested_mode,
        "properties",
        extra,
        native_arrays=destination.native_arrays,
    )
    traits = prepare_user_properties(request.traits, destination.nested_mode, "traits")
    violations += properties.violations + traits.violations
    raise_if_any(violations)
    assert isinstance(identity, str)
    user_properties = HeapUserProperties(identity, traits.properties) if traits.properties else None
    return PreparedTrack(
        event=HeapEvent(
            identity=identity,
            event=event_name,
            properties=properties.properties,
            idempotency_key=request.message_id.strip() or str(uuid.uuid4()),
            timestamp=request.timestamp,
            session_id=request.session_id or None,
        ),
        user_properties=user_properties,
        warnings=tuple(properties.warnings + traits.warnings),
    )


def _event_name(request: TrackInput, violations: list[FieldViolation]) -> str:
    if request.type in FIXED_EVENT_NAMES:
        if request.event:
            violations.append(
                FieldViolation(
                    "event",
                    f"must be empty for a {request.type.value} call, which is sent as "
                    f"{FIXED_EVENT_NAMES[request.type]!r}",
                )
            )
        return FIXED_EVENT_NAMES[request.type]
    if not trim_invisible(request.event):
        violations.append(FieldViolation("event", "required: the event name must not be empty"))
    elif has_control_characters(request.event):
        violations.append(FieldViolation("event", NO_CONTROL_CHARACTERS))
    elif len(request.event) > MAX_EVENT_NAME_LENGTH:
        violations.append(
            FieldViolation(
                "event",
                f"must be at most {MAX_EVENT_NAME_LENGTH} characters (this one has "
                f"{len(request.event)}: '{shown(request.event)}')",
            )
        )
    return request.event
