"""Small views of domain results that read like what a user checks."""

from collections.abc import Iterable

from heap_destination.domain.destination import Destination
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.domain.property_warnings import PropertyWarning, WarningReason
from heap_destination.domain.violations import FieldViolation

US_BASE_URL = "https://heapanalytics.com"


def warning_tuples(warnings: Iterable[PropertyWarning]) -> list[tuple[str, str, WarningReason]]:
    """Each warning as (field, key, reason)."""
    return [(w.field, w.key, w.reason) for w in warnings]


def violation_fields(violations: Iterable[FieldViolation]) -> list[str]:
    return [v.field for v in violations]


def destination(
    nested_mode: NestedMode = NestedMode.FLATTEN, anonymous_id_as_identity: bool = False
) -> Destination:
    return Destination(
        app_id="1234567890",
        base_url=US_BASE_URL,
        nested_mode=nested_mode,
        anonymous_id_as_identity=anonymous_id_as_identity,
    )
