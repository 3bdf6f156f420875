"""Property warnings to their protobuf form, the first MAX_LISTED_WARNINGS of them.

An event can carry thousands of warnings (one per null value, say); listing them all
would make answers larger than a client accepts. The rest are counted.
"""

from collections.abc import Sequence

from heap_destination.domain.property_warnings import PropertyWarning, WarningReason
from heap_destination.v1 import warnings_pb2

MAX_LISTED_WARNINGS = 20

_REASONS = {
    WarningReason.VALUE_TRUNCATED: warnings_pb2.PROPERTY_WARNING_REASON_VALUE_TRUNCATED,
    WarningReason.EMPTY_VALUE_OMITTED: warnings_pb2.PROPERTY_WARNING_REASON_EMPTY_VALUE_OMITTED,
    WarningReason.NESTED_VALUE_DROPPED: warnings_pb2.PROPERTY_WARNING_REASON_NESTED_VALUE_DROPPED,
    WarningReason.KEY_COLLISION: warnings_pb2.PROPERTY_WARNING_REASON_KEY_COLLISION,
    WarningReason.RESERVED_KEY_OMITTED: warnings_pb2.PROPERTY_WARNING_REASON_RESERVED_KEY_OMITTED,
    WarningReason.EMAIL_NOT_LOWERCASE: warnings_pb2.PROPERTY_WARNING_REASON_EMAIL_NOT_LOWERCASE,
    WarningReason.ARRAY_STRINGIFIED: warnings_pb2.PROPERTY_WARNING_REASON_ARRAY_STRINGIFIED,
}


def warnings_to_proto(warnings: Sequence[PropertyWarning]) -> list[warnings_pb2.PropertyWarning]:
    return [
        warnings_pb2.PropertyWarning(
            field=w.field, key=w.key, reason=_REASONS[w.reason], message=w.message
        )
        for w in warnings[:MAX_LISTED_WARNINGS]
    ]


def unlisted_warnings(warnings: Sequence[PropertyWarning]) -> int:
    return max(0, len(warnings) - MAX_LISTED_WARNINGS)
