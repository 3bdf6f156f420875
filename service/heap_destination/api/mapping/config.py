"""DestinationConfig messages to domain destination settings (unset fields stay None)."""

from collections.abc import Mapping
from typing import Any, TypeVar

from heap_destination.domain.ack_mode import AckMode
from heap_destination.domain.destination import DestinationSettings, Region
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.domain.violations import FieldViolation, raise_if_any
from heap_destination.v1 import config_pb2

_REGIONS = {config_pb2.REGION_US: Region.US, config_pb2.REGION_EU: Region.EU}
_MODES = {
    config_pb2.NESTED_PROPERTIES_MODE_FLATTEN: NestedMode.FLATTEN,
    config_pb2.NESTED_PROPERTIES_MODE_INDEXED: NestedMode.INDEXED,
    config_pb2.NESTED_PROPERTIES_MODE_STRINGIFY: NestedMode.STRINGIFY,
    config_pb2.NESTED_PROPERTIES_MODE_DROP: NestedMode.DROP,
}

_ACK_MODES = {
    config_pb2.ACK_MODE_DELIVERED: AckMode.DELIVERED,
    config_pb2.ACK_MODE_STORED: AckMode.STORED,
}

Value = TypeVar("Value")


def settings_from_config(config: config_pb2.DestinationConfig) -> DestinationSettings:
    """Raises InvalidInput for enum values the contract does not define."""
    violations: list[FieldViolation] = []
    region = enum_value(_REGIONS, config.region, "config.region", violations)
    mode = enum_value(
        _MODES, config.nested_properties_mode, "config.nested_properties_mode", violations
    )
    ack_mode = enum_value(_ACK_MODES, config.ack_mode, "config.ack_mode", violations)
    raise_if_any(violations)
    return DestinationSettings(
        app_id=config.app_id or None,
        region=region,
        base_url=config.base_url or None,
        nested_mode=mode,
        anonymous_id_as_identity=config.anonymous_id_as_identity
        if config.HasField("anonymous_id_as_identity")
        else None,
        disable_text_capture=config.disable_text_capture
        if config.HasField("disable_text_capture")
        else None,
        secure_cookie=config.secure_cookie if config.HasField("secure_cookie") else None,
        tracking_server=config.tracking_server or None,
        hostname=config.hostname or None,
        ack_mode=ack_mode,
        native_arrays=config.native_arrays if config.HasField("native_arrays") else None,
    )


def enum_value(
    known: Mapping[Any, Value], number: int, field: str, violations: list[FieldViolation]
) -> Value | None:
    """The domain value of a protobuf enum number; None for 0 (unset). A number the
    contract does not define (proto3 keeps them) is added to `violations`."""
    if number == 0:
        return None
    value = known.get(number)
    if value is None:
        violations.append(FieldViolation(field, f"unknown value {number}"))
    return value
