"""An account update to the Heap call that delivers it (add_account_properties)."""

from dataclasses import dataclass, field

from heap_destination.domain.destination import Destination
from heap_destination.domain.heap_calls import HeapAccountProperties
from heap_destination.domain.limits import MAX_ACCOUNT_ID_LENGTH
from heap_destination.domain.properties import prepare_properties
from heap_destination.domain.property_source import PropertyValues
from heap_destination.domain.property_warnings import PropertyWarning
from heap_destination.domain.text import (
    NO_CONTROL_CHARACTERS,
    has_control_characters,
    trim_invisible,
)
from heap_destination.domain.violations import FieldViolation, raise_if_any


@dataclass
class AccountInput:
    account_id: str = ""
    properties: PropertyValues = field(default_factory=dict)
    message_id: str = ""


@dataclass
class PreparedAccount:
    account: HeapAccountProperties
    warnings: tuple[PropertyWarning, ...]


def prepare_account(request: AccountInput, destination: Destination) -> PreparedAccount:
    """Validates an account update and builds what Heap receives; raises InvalidInput."""
    violations: list[FieldViolation] = []
    account_id = trim_invisible(request.account_id)
    if not account_id:
        violations.append(FieldViolation("account_id", "required: Heap needs an account id"))
    elif has_control_characters(account_id):
        violations.append(FieldViolation("account_id", NO_CONTROL_CHARACTERS))
    elif len(account_id) > MAX_ACCOUNT_ID_LENGTH:
        violations.append(
            FieldViolation(
                "account_id",
                f"must be at most {MAX_ACCOUNT_ID_LENGTH} characters (this one has "
                f"{len(account_id)})",
            )
        )
    properties = prepare_properties(request.properties, destination.nested_mode, "properties")
    violations += properties.violations
    if not violations and not properties.properties:
        violations.append(FieldViolation("properties", "nothing to send: give at least one"))
    raise_if_any(violations)
    return PreparedAccount(
        account=HeapAccountProperties(account_id, properties.properties),
        warnings=tuple(properties.warnings),
    )
