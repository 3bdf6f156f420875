"""The server's default for native arrays: --native-arrays, HEAP_NATIVE_ARRAYS, or the
config file's destination.nativeArrays."""

import argparse
import json
from pathlib import Path

import pytest

from heap_destination.app.settings import (
    ServiceSettings,
    SettingsError,
    add_service_arguments,
    service_settings,
)


def settings(argv: list[str], env: dict[str, str] | None = None) -> ServiceSettings:
    parser = argparse.ArgumentParser()
    add_service_arguments(parser)
    return service_settings(parser.parse_args(argv), env or {})


def test_unset_by_default_which_resolves_to_false() -> None:
    assert settings([]).defaults.native_arrays is None


@pytest.mark.parametrize(("text", "value"), [("true", True), ("on", True), ("0", False)])
def test_the_flag_and_the_environment_variable(text: str, value: bool) -> None:
    assert settings(["--native-arrays", text]).defaults.native_arrays is value
    assert settings([], {"HEAP_NATIVE_ARRAYS": text}).defaults.native_arrays is value


def test_the_flag_wins_over_the_environment() -> None:
    got = settings(["--native-arrays", "false"], {"HEAP_NATIVE_ARRAYS": "true"})

    assert got.defaults.native_arrays is False


def test_the_config_files_destination_and_the_environment_over_it(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"destination": {"nativeArrays": True}}))

    assert settings(["--config", str(path)]).defaults.native_arrays is True
    env = {"HEAP_NATIVE_ARRAYS": "false"}
    assert settings(["--config", str(path)], env).defaults.native_arrays is False


def test_a_bad_value_stops_the_start_naming_the_setting() -> None:
    with pytest.raises(SettingsError, match="HEAP_NATIVE_ARRAYS='maybe': must be true or false"):
        settings([], {"HEAP_NATIVE_ARRAYS": "maybe"})
