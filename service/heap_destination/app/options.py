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
    unset: str | None = None
    """What no value means, for help, where there is no default value."""

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


class CommandParser(argparse.ArgumentParser):
    """The command line's parsers: no abbreviated flags (`--app` is not `--app-id`), and a
    subcommand's unknown argument reported with that subcommand's usage, where argparse
    would pass it up to the top-level parser and print the top-level usage. Subparsers
    are made of their parent's class, so every parser of the command line is one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def parse_known_args(  # type: ignore[override]
        self, args: Any = None, namespace: Any = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras


def add_boolean(parser: argparse.ArgumentParser, flag: str, dest: str, help: str) -> None:
    """`--x` (true) and `--no-x` (false), with the older `--x true|false` still taken.
    The value stays text, parsed (and refused, naming the flag) with the others'."""
    parser.add_argument(
        flag, dest=dest, nargs="?", const="true", default=None, metavar="true|false", help=help
    )
    parser.add_argument(
        "--no-" + flag.removeprefix("--"),
        dest=dest,
        action="store_const",
        const="false",
        help=f"the same as {flag} false",
    )


def add_options(parser: argparse.ArgumentParser, options: list[Option]) -> None:
    for option in options:
        help_text = f"{option.help} (env {option.env}; default {shown_default(option)})"
        if option.parse is boolean:
            add_boolean(parser, option.flag, option.name, help_text)
        else:
            parser.add_argument(
                option.flag,
                dest=option.name,
                default=None,
                choices=option.choices,
                help=help_text,
            )


def shown_default(option: Option) -> str:
    """The default as help shows it: `false`, `30`, or what no value means."""
    if option.default is None:
        if option.unset is None:
            raise ValueError(
                f"{option.flag}: an option without a default must say what unset means"
            )
        return option.unset
    if isinstance(option.default, bool):
        return str(option.default).lower()
    return str(option.default)


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
