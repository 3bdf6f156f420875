from collections.abc import Iterable

from heap_destination.domain.property_warnings import PropertyWarning, WarningReason
from heap_destination.v1 import warnings_pb2

_REASONS = {
    WarningReason.VALUE_TRUNCATED: warnings_pb2.PROPERTY_WARNING_REASON_VALUE_TRUNCATED,
    WarningReason.EMPTY_VALUE_OMITTED: warnings_pb2.PROPERTY_WARNING_REASON_EMPTY_VALUE_OMITTED,
    WarningReason.NESTED_VALUE_DROPPED: warnings_pb2.PROPERTY_WARNING_REASON_NESTED_VALUE_DROPPED,
    WarningReason.KEY_COLLISION: warnings_pb2.PROPERTY_WARNING_REASON_KEY_COLLISION,
    WarningReason.RESERVED_KEY_OMITTED: warnings_pb2.PROPERTY_WARNING_REASON_RESERVED_KEY_OMITTED,
}


def warnings_to_proto(
    warnings: Iterable[PropertyWarning],
) -> list[warnings_pb2.PropertyWarning]:
    return [
        warnings_pb2.PropertyWarning(
            field=w.field, key=w.key, reason=_REASONS[w.reason], message=w.message
        )
        for w in warnings
    ]
