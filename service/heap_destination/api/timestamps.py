"""google.protobuf.Timestamp fields to datetimes, within the range the contract allows."""

from datetime import UTC, datetime

from google.protobuf import timestamp_pb2

from heap_destination.domain.violations import FieldViolation

# 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range google.protobuf.Timestamp
# defines.
_MIN_SECONDS = -62_135_596_800
_MAX_SECONDS = 253_402_300_799


def timestamp_value(
    timestamp: timestamp_pb2.Timestamp, field: str, violations: list[FieldViolation]
) -> datetime | None:
    """The datetime of a set Timestamp field; a value out of range is added to
    `violations` (and None returned)."""
    if not _MIN_SECONDS <= timestamp.seconds <= _MAX_SECONDS or not (
        0 <= timestamp.nanos < 1_000_000_000
    ):
        violations.append(
            FieldViolation(
                field,
                "must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, with nanos "
                "from 0 to 999999999",
            )
        )
        return None
    return timestamp.ToDatetime(tzinfo=UTC)
