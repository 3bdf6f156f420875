"""`python -m heap_destination.app.layout_check` fails when an import breaks the layout
(docs/layout.md): an arrow that points up, a driver above store/, a module in no room."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from heap_destination.app.layout_check import PACKAGE, broken_rules


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A copy of the package's sources, to break."""
    copy = tmp_path / "heap_destination"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.so", "v1"))
    return copy


def _append(module: Path, code: str) -> None:
    with module.open("a") as source:
        source.write(code)


def test_the_package_follows_its_layout() -> None:
    assert broken_rules() == []


def test_the_command_fails_on_an_upward_import(package: Path) -> None:
    _append(package / "domain" / "text.py", "from heap_destination.api import servicer\n")

    done = subprocess.run(
        [sys.executable, "-m", "heap_destination.app.layout_check", str(package)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 1
    assert f"{package / 'domain' / 'text.py'}:" in done.stdout
    assert "domain/ may not import api/ (heap_destination.api)" in done.stdout


@pytest.mark.parametrize(
    ("module", "code", "broken"),
    [
        ("store/items.py", "from heap_destination.delivery import engine\n", "store/ may not"),
        ("delivery/engine.py", "import heap_destination.durable.work\n", "delivery/ may not"),
        ("domain/flatten.py", "from .. import metrics\n", "domain/ may not import metrics.py"),
        ("metrics.py", "from heap_destination import domain\n", "metrics.py may not"),
        ("api/intake.py", "import sqlite3\n", "api/ may not import sqlite3 (a database"),
        ("api/intake.py", "def f() -> None:\n    import psycopg\n", "may not import psycopg"),
        ("durable/work.py", "from psycopg_pool import AsyncConnectionPool\n", "psycopg_pool"),
        ("delivery/engine.py", "import grpc\n", "delivery/ may not import grpc"),
        ("domain/track.py", "import asyncio\n", "domain/ may not import asyncio"),
        ("domain/track.py", "import httpx\n", "domain/ may not import httpx"),
    ],
)
def test_an_import_that_breaks_a_rule_is_named_with_its_line(
    tmp_path: Path, module: str, code: str, broken: str
) -> None:
    package = _package_of_one_module(tmp_path, module, code)

    [found] = broken_rules(package)

    assert found.startswith(f"{package / module}:{code.count(chr(10)) + 1}: ")
    assert broken in found


@pytest.mark.parametrize(
    ("module", "code"),
    [
        ("api/intake.py", "from heap_destination.store import items\n"),
        ("api/structs/wire.py", "from ... import metrics\n"),
        ("durable/work.py", "from heap_destination.delivery.heap import bodies\n"),
        ("delivery/heap/client.py", "from ..limits import rate_limiter\nimport aiohttp\n"),
        ("store/items.py", "import psycopg\nfrom heap_destination.domain import track\n"),
        ("app/cli.py", "import heap_destination.sim\nimport aiohttp\n"),
        ("client/client.py", "import grpc\nfrom heap_destination.v1 import track_pb2\n"),
        ("__init__.py", "from heap_destination.compiled_check import check\n"),
    ],
)
def test_an_import_the_layout_allows_passes(tmp_path: Path, module: str, code: str) -> None:
    package = _package_of_one_module(tmp_path, module, code)

    assert broken_rules(package) == []


def _package_of_one_module(folder: Path, module: str, code: str) -> Path:
    package = folder / "heap_destination"
    (package / module).parent.mkdir(parents=True, exist_ok=True)
    (package / module).write_text('"""A module."""\n' + code)
    return package


def test_a_module_in_no_room_is_named(tmp_path: Path) -> None:
    package = _package_of_one_module(tmp_path, "extra.py", "")

    assert broken_rules(package) == [
        f"{package / 'extra.py'}:1: extra.py is in no room of the layout"
    ]
