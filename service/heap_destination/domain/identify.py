"""An Identify call to the Heap calls that deliver it."""

from dataclasses import dataclass, field
from datetime import datetime

from heap_destination.domain.destination import Destination
from heap_destination.domain.heap_calls import HeapIdentify, HeapUserProperties
from heap_destination.domain.identity import resolve_identity
from heap_destination.domain.json_value import FlatValue
from heap_destination.domain.limits import MAX_HEAP_USER_ID
from heap_destination.domain.properties import prepare_user_properties
from heap_destination.domain.property_source import PropertyValues
from heap_destination.domain.property_warnings import PropertyWarning
from heap_destination.domain.text import trim_invisible
from heap_destination.domain.violations import FieldViolation, raise_if_any

ANONYMOUS_ID_PROPERTY = "anonymous_id"


@dataclass
class IdentifyInput:
    user_id: str = ""
    anonymous_id: str = ""
    traits: PropertyValues = field(default_factory=dict)
    heap_user_id: str = ""
    timestamp: datetime | None = None
    message_id: str = ""


@dataclass
class PreparedIdentify:
    identity: str
    user_properties: HeapUserProperties | None
    identify: HeapIdentify | None
    warnings: tuple[PropertyWarning, ...]


def prepare_identify(request: IdentifyInput, destination: Destination) -> PreparedIdentify:
    """Validates an Identify call and builds what Heap receives; raises InvalidInput."""
    violations: list[FieldViolation] = []
    identity = resolve_identity(
        request.user_id,
        request.anonymous_id,
        anonymous_id_as_identity=destination.anonymous_id_as_identity,
    )
    if isinstance(identity, FieldViolation):
        violations.append(identity)
    heap_user_id = _canonical_heap_user_id(request.heap_user_id.strip())
    if request.heap_user_id and heap_user_id is None:
        violations.append(
            FieldViolation("heap_user_id", f"must be a decimal number from 0 to {MAX_HEAP_USER_ID}")
        )
    extra: dict[str, tuple[FlatValue, str]] = {}
    if anonymous_id := trim_invisible(request.anonymous_id):
        extra[ANONYMOUS_ID_PROPERTY] = (anonymous_id, "anonymous_id")
    traits = prepare_user_properties(request.traits, destination.nested_mode, "traits", extra)
    violations += traits.violations
    if not violations and not traits.properties and not heap_user_id:
        violations.append(
            FieldViolation(
                "traits", "nothing to send: give traits, an anonymous_id or a heap_user_id"
            )
        )
    raise_if_any(violations)
    assert isinstance(identity, str)
    return PreparedIdentify(
        identity=identity,
        user_properties=HeapUserProperties(identity, traits.properties)
        if traits.properties
        else None,
        identify=HeapIdentify(identity, heap_user_id, request.timestamp) if heap_user_id else None,
        warnings=tuple(traits.warnings),
    )


def _canonical_heap_user_id(text: str) -> str | None:
    """`text` as Heap's user id without leading zeros, or None when it is not one."""
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0") or "0"
    # The length check first: int() refuses strings of more than 4300 digits.
    if len(digits) > len(str(MAX_HEAP_USER_ID)) or int(digits) > MAX_HEAP_USER_ID:
        return None
    return digits
