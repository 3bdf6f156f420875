from dataclasses import dataclass
from enum import Enum


class WarningReason(Enum):
    VALUE_TRUNCATED = "VALUE_TRUNCATED"
    EMPTY_VALUE_OMITTED = "EMPTY_VALUE_OMITTED"
    NESTED_VALUE_DROPPED = "NESTED_VALUE_DROPPED"
    KEY_COLLISION = "KEY_COLLISION"
    RESERVED_KEY_OMITTED = "RESERVED_KEY_OMITTED"
    EMAIL_NOT_LOWERCASE = "EMAIL_NOT_LOWERCASE"
    ARRAY_STRINGIFIED = "ARRAY_STRINGIFIED"


@dataclass(frozen=True)
class PropertyWarning:
    """A property that did not reach Heap exactly as given."""

    field: str
    key: str
    reason: WarningReason
    message: str
