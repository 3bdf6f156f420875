"""Native arrays at the API's edges: the config field, the warning, the response echo."""

from google.protobuf import json_format

from heap_destination.api.mapping.config import settings_from_config
from heap_destination.api.mapping.warnings import warnings_to_proto
from heap_destination.api.structs.values import MAX_ECHO_BYTES, fits_echo, flat_to_struct
from heap_destination.domain.json_value import FlatProperties
from heap_destination.domain.property_warnings import PropertyWarning, WarningReason
from heap_destination.v1 import config_pb2, warnings_pb2


def test_native_arrays_unset_is_none_so_the_servers_default_applies() -> None:
    assert settings_from_config(config_pb2.DestinationConfig()).native_arrays is None


def test_native_arrays_set_either_way_is_kept() -> None:
    on = config_pb2.DestinationConfig(native_arrays=True)
    off = config_pb2.DestinationConfig(native_arrays=False)

    assert settings_from_config(on).native_arrays is True
    assert settings_from_config(off).native_arrays is False


def test_native_arrays_in_protobuf_json() -> None:
    config = json_format.ParseDict({"nativeArrays": True}, config_pb2.DestinationConfig())

    assert settings_from_config(config).native_arrays is True


def test_array_stringified_has_its_reason_in_the_contract() -> None:
    warning = PropertyWarning("properties", "a", WarningReason.ARRAY_STRINGIFIED, "m")

    [listed] = warnings_to_proto([warning])

    assert listed.reason == warnings_pb2.PROPERTY_WARNING_REASON_ARRAY_STRINGIFIED


def test_every_warning_reason_has_a_contract_value() -> None:
    for reason in WarningReason:
        warnings_to_proto([PropertyWarning("properties", "k", reason, "m")])


def test_a_native_array_is_echoed_as_a_list() -> None:
    struct = flat_to_struct({"flavors": ["vanilla", "chocolate"], "n": [1, 2.5], "s": "x"})

    assert json_format.MessageToDict(struct) == {
        "flavors": ["vanilla", "chocolate"],
        "n": [1, 2.5],
        "s": "x",
    }


def test_the_echo_counts_every_item_of_an_array() -> None:
    item = "x" * 1000
    items = MAX_ECHO_BYTES // len(item)
    within: FlatProperties = {"a": [item] * (items - 10)}
    beyond: FlatProperties = {"a": [item] * (items + 10)}

    assert fits_echo([within])
    assert not fits_echo([beyond])
    assert not fits_echo([{"a": [1] * (MAX_ECHO_BYTES // 9)}])
