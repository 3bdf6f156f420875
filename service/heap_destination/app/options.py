"""Every setting of the service: its flag, environment variable, config-file key, default.

Precedence: a flag wins over its environment variable, which wins over the config file
(`--config` / HEAP_DESTINATION_CONFIG), which wins over the default.
"""

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class SettingsError(ValueError):
    """A setting that cannot work; the message names it and where it came from."""


@dataclass(frozen=True)
class Option:
    name: str
    """The config-file key and argparse destination."""
    env: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str
    choices: tuple[str, ...] | None = None
    in_file: bool = True

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


def add_options(parser: argparse.ArgumentParser, options: list[Option]) -> None:
    for option in options:
        parser.add_argument(
            option.flag,
            dest=option.name,
            default=None,
            choices=option.choices,
            help=f"{option.help} (env {option.env}; default {option.default})",
        )


def resolve_options(
    options: list[Option],
    args: argparse.Namespace,
    env: Mapping[str, str],
    file_values: Mapping[str, Any],
) -> dict[str, Any]:
    """Each option's value from the first place that sets it; raises SettingsError."""
    values: dict[str, Any] = {}
    for option in options:
        flag_value = getattr(args, option.name, None)
        if flag_value is not None:
            values[option.name] = _parse(option, flag_value, option.flag)
        elif option.env in env:
            values[option.name] = _parse(option, env[option.env], option.env)
        elif option.in_file and option.name in file_values:
            values[option.name] = _from_file(option, file_values[option.name])
        else:
            values[option.name] = option.default
    return values


def _parse(option: Option, text: str, source: str) -> Any:
    if option.choices is not None and text not in option.choices:
        raise SettingsError(f"{source}={text!r}: must be one of {', '.join(option.choices)}")
    try:
        return option.parse(text)
    except ValueError as error:
        raise SettingsError(f"{source}={text!r}: {error}") from None


def _from_file(option: Option, value: Any) -> Any:
    source = f"config file key {option.name!r}"
    if isinstance(value, bool | int | float):
        value = str(value).lower() if isinstance(value, bool) else str(value)
    if not isinstance(value, str):
        raise SettingsError(f"{source}: must be a string, number or boolean")
    return _parse(option, value, source)
