"""DestinationConfig messages to domain destination settings (unset fields stay None)."""

from heap_destination.domain.destination import DestinationSettings, Region
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.v1 import config_pb2

_REGIONS = {config_pb2.REGION_US: Region.US, config_pb2.REGION_EU: Region.EU}
_MODES = {
    config_pb2.NESTED_PROPERTIES_MODE_FLATTEN: NestedMode.FLATTEN,
    config_pb2.NESTED_PROPERTIES_MODE_INDEXED: NestedMode.INDEXED,
    config_pb2.NESTED_PROPERTIES_MODE_STRINGIFY: NestedMode.STRINGIFY,
    config_pb2.NESTED_PROPERTIES_MODE_DROP: NestedMode.DROP,
}


def settings_from_config(config: config_pb2.DestinationConfig) -> DestinationSettings:
    return DestinationSettings(
        app_id=config.app_id or None,
        region=_REGIONS.get(config.region),
        base_url=config.base_url or None,
        nested_mode=_MODES.get(config.nested_properties_mode),
        anonymous_id_as_identity=config.anonymous_id_as_identity
        if config.HasField("anonymous_id_as_identity")
        else None,
        disable_text_capture=config.disable_text_capture
        if config.HasField("disable_text_capture")
        else None,
        secure_cookie=config.secure_cookie if config.HasField("secure_cookie") else None,
        tracking_server=config.tracking_server or None,
        hostname=config.hostname or None,
    )
