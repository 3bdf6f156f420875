"""docs/configuration.md lists every setting the service has, and only those.

The page's table is written by hand (its meanings link to the pages that explain them);
this test holds it to the code: every flag of `serve`, `run` and `simulate`, every
environment variable they read, every config-file key, and each option's default.
"""

import argparse
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heap_destination.app import cli, settings
from heap_destination.app.option_table import HEAP_API_KEY_ENV, OPTIONS, TOKENS_ENV
from heap_destination.app.options import Option
from heap_destination.v1 import config_pb2

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "configuration.md"
HEADER = "| flag | environment | config-file key | default | meaning |"
COMMANDS = ("serve", "run", "simulate")
ENVIRONMENT_WITHOUT_OPTION = {
    settings.CONFIG_ENV,
    TOKENS_ENV,
    HEAP_API_KEY_ENV,
    cli.SIMULATOR_ENV,
    cli.SIMULATOR_API_KEY_ENV,
}
"""Variables the commands read beside the option table's."""

CODE_SPAN = re.compile(r"`([^`]+)`")
CELL_BORDER = re.compile(r"(?<!\\)\|")


@dataclass(frozen=True)
class Row:
    flags: frozenset[str]
    environment: frozenset[str]
    keys: frozenset[str]
    default: str | None
    """The default cell's first code span: `30`, `false`, …; None when it has none."""


def table_rows(markdown: str) -> list[Row]:
    """The rows of the page's settings table."""
    lines = markdown.splitlines()
    start = lines.index(HEADER) + 2  # past the header and its |---| line
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in CELL_BORDER.split(line)[1:-1]]
        flag, environment, key, default = (CODE_SPAN.findall(cell) for cell in cells[:4])
        rows.append(
            Row(
                frozenset(span for span in flag if span.startswith("--")),
                frozenset(environment),
                frozenset(key),
                default[0] if default else None,
            )
        )
    return rows


def command_flags() -> set[str]:
    """Every flag `serve`, `run` and `simulate` take, but help and hidden ones."""
    parser = cli._parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {
        flag
        for name in COMMANDS
        for action in commands.choices[name]._actions
        if action.help != argparse.SUPPRESS and not isinstance(action, argparse._HelpAction)
        for flag in action.option_strings
    }


def destination_key(name: str) -> str | None:
    """The config-file key under `destination` of the DestinationConfig field `name`."""
    field = config_pb2.DestinationConfig.DESCRIPTOR.fields_by_name.get(name)
    return f"destination.{field.json_name}" if field is not None else None


def option_key(option: Option) -> str | None:
    """Where the config file sets `option`: its own key, or its DestinationConfig field."""
    return option.name if option.in_file else destination_key(option.name)


def documented_default(value: Any) -> str:
    """A default as the page writes it: `true`, `30` for 30.0, `0.01`."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def problems(markdown: str) -> list[str]:
    """What the table misses, lists that does not exist, or says differently from the code."""
    rows = table_rows(markdown)
    found: list[str] = []

    def compare(kind: str, documented: set[str], actual: set[str]) -> None:
        found.extend(f"{kind} {name} is missing" for name in sorted(actual - documented))
        found.extend(f"{kind} {name} does not exist" for name in sorted(documented - actual))

    compare("flag", {f for row in rows for f in row.flags}, command_flags())
    compare(
        "environment variable",
        {e for row in rows for e in row.environment},
        {o.env for o in OPTIONS} | ENVIRONMENT_WITHOUT_OPTION,
    )
    destination_keys = {
        f"destination.{field.json_name}" for field in config_pb2.DestinationConfig.DESCRIPTOR.fields
    }
    compare(
        "config-file key",
        {k for row in rows for k in row.keys},
        {o.name for o in OPTIONS if o.in_file} | destination_keys,
    )
    for option in OPTIONS:
        row = next((r for r in rows if option.flag in r.flags), None)
        if row is None:
            continue  # reported above
        if option.env not in row.environment:
            found.append(f"{option.flag}: its row does not name {option.env}")
        key = option_key(option)
        if key is not None and key not in row.keys:
            found.append(f"{option.flag}: its row does not name the config-file key {key}")
        if option.default is not None and row.default != documented_default(option.default):
            found.append(
                f"{option.flag}: the default is {documented_default(option.default)}, "
                f"the page says {row.default}"
            )
    return found


def test_the_configuration_page_lists_every_setting_and_only_those() -> None:
    found = problems(PAGE.read_text(encoding="utf-8"))

    assert not found, "docs/configuration.md:\n" + "\n".join(found)


def test_a_missing_an_unknown_and_a_wrong_setting_are_found() -> None:
    page = PAGE.read_text(encoding="utf-8")
    lease = next(line for line in page.splitlines() if line.startswith("| `--store-lease`"))
    workers = next(line for line in page.splitlines() if line.startswith("| `--workers`"))
    doctored = (
        page.replace(lease + "\n", "")
        .replace(workers, workers.replace("`1`", "`2`"))
        .replace(
            HEADER + "\n|---|---|---|---|---|\n",
            HEADER + "\n|---|---|---|---|---|\n"
            "| `--no-such-flag` | `HEAP_NO_SUCH` | `no_such_key` | none | nothing |\n",
        )
    )

    assert problems(doctored) == [
        "flag --store-lease is missing",
        "flag --no-such-flag does not exist",
        "environment variable HEAP_STORE_LEASE is missing",
        "environment variable HEAP_NO_SUCH does not exist",
        "config-file key store_lease is missing",
        "config-file key no_such_key does not exist",
        "--workers: the default is 1, the page says 2",
    ]


def test_options_outside_the_file_are_destination_config_fields() -> None:
    """An option the config file cannot set by its name is set under `destination`."""
    outside = [o.name for o in OPTIONS if not o.in_file]

    assert outside
    assert [name for name in outside if destination_key(name) is None] == []
