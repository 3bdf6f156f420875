"""A store the service must not use as it is stops `serve`, `run` and `store migrate`
with exit code 2 and one line naming the store and what to do: a schema newer than the
code (both engines), a damaged file, an empty file (unless --store-create), a file that
cannot be written, and a path under a file."""

import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import psycopg
import pytest

from heap_destination.store.migrations import LATEST_VERSION
from tests.support.damaged_store import damage_items, unwritable
from tests.support.postgres import postgres_schema, postgres_server
from tests.support.processes import COMMAND, Process, free_address, start_service

NEWER = LATEST_VERSION + 1
RECOVERY = 'docs/operations.md, "Recovering a damaged store"'


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """A command expected to stop by itself; `serve` would otherwise serve until killed."""
    return subprocess.run(
        [COMMAND, *args], capture_output=True, text=True, timeout=60, cwd=cwd, check=False
    )


def _serve(store_url: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return _run(
        "serve", "--listen", free_address(), "--metrics-listen", "off", "--store", store_url, *flags
    )


def _refused_in_one_line(finished: subprocess.CompletedProcess[str], *naming: str) -> str:
    assert finished.returncode == 2, finished.stderr
    assert "Traceback" not in finished.stderr
    [line] = [line for line in finished.stderr.splitlines() if line.startswith("heap-destination:")]
    for text in naming:
        assert text in line
    return line


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:{tmp_path / 'store.db'}"
        return
    with postgres_server() as server, postgres_schema(server) as url:
        yield url


def _versions(store_url: str) -> list[int]:
    query = "SELECT version FROM schema_version ORDER BY version"
    if store_url.startswith("sqlite:"):
        with closing(sqlite3.connect(store_url.removeprefix("sqlite:"))) as db:
            return [version for (version,) in db.execute(query)]
    with psycopg.connect(store_url) as pg:
        return [int(version) for (version,) in pg.execute(query)]


def _record_newer_version(store_url: str) -> None:
    insert = f"INSERT INTO schema_version (version, applied_at) VALUES ({NEWER}, 0)"
    if store_url.startswith("sqlite:"):
        with closing(sqlite3.connect(store_url.removeprefix("sqlite:"))) as db, db:
            db.execute(insert)
        return
    with psycopg.connect(store_url) as pg:
        pg.execute(insert.encode())


def test_a_store_newer_than_the_code_stops_migrate_and_serve_naming_both_versions(
    store_url: str,
) -> None:
    assert _run("store", "migrate", "--store", store_url).returncode == 0
    _record_newer_version(store_url)

    migrated, served = _run("store", "migrate", "--store", store_url), _serve(store_url)

    for finished in (migrated, served):
        _refused_in_one_line(
            finished, f"schema is at version {NEWER}", f"knows (version {LATEST_VERSION})"
        )
    assert "store schema at version" not in migrated.stderr
    assert _versions(store_url) == [*range(1, LATEST_VERSION + 1), NEWER]


def test_a_damaged_store_stops_serve_naming_the_file_and_the_recovery_steps(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    _fill(path)
    damage_items(path)

    line = _refused_in_one_line(_serve(f"sqlite:{path}"), str(path), "damaged", RECOVERY)

    assert "integrity check" in line


def test_an_empty_file_stops_serve_and_migrate_unless_a_new_store_is_asked_for(
    tmp_path: Path, simulator: str
) -> None:
    path = tmp_path / "store.db"
    path.touch()
    url = f"sqlite:{path}"

    for finished in (_serve(url), _run("store", "migrate", "--store", url)):
        _refused_in_one_line(finished, str(path), "empty (0 bytes)", "--store-create true")
    assert path.stat().st_size == 0

    service = start_service(free_address(), simulator, "--store", url, "--store-create", "true")
    service.stop()
    assert any("was empty (0 bytes): making a new, empty store" in line for line in service.lines)
    assert path.stat().st_size > 0


def test_run_makes_its_own_store_in_an_empty_file_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "heap-destination.db").touch()

    process = Process(
        [
            COMMAND,
            "run",
            "--listen",
            free_address(),
            "--simulator-listen",
            free_address(),
            "--http-listen",
            free_address(),
            "--metrics-listen",
            "off",
        ],
        "service listening",
        cwd=tmp_path,
    )
    process.stop()

    assert any("making a new, empty store" in line for line in process.lines)


def test_a_missing_file_becomes_a_new_store_and_the_log_says_so(
    tmp_path: Path, simulator: str
) -> None:
    path = tmp_path / "new" / "store.db"

    service = start_service(free_address(), simulator, "--store", f"sqlite:{path}")
    service.stop()

    assert any(f"made a new, empty store at {path}" in line for line in service.lines)


def test_a_file_that_cannot_be_written_stops_serve_and_migrate(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    _fill(path)

    with unwritable(path):
        served, migrated = (
            _serve(f"sqlite:{path}"),
            _run("store", "migrate", "--store", f"sqlite:{path}"),
        )

    for finished in (served, migrated):
        _refused_in_one_line(finished, f"store sqlite:{path}: cannot write the file")


def test_a_path_under_a_file_stops_serve_and_migrate_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    url = f"sqlite:{tmp_path / 'file' / 'store.db'}"

    for finished in (_serve(url), _run("store", "migrate", "--store", url)):
        _refused_in_one_line(finished, url, f"{tmp_path / 'file'} is a file, not a directory")


def _fill(path: Path) -> None:
    """A store with enough items for a page of them in the middle of the file."""
    assert _run("store", "migrate", "--store", f"sqlite:{path}").returncode == 0
    with closing(sqlite3.connect(path)) as db, db:
        db.executemany(
            "INSERT INTO items (app_id, base_url, endpoint, identity, body, message_id, "
            "accepted_at, due_at) VALUES ('1234567890', 'http://h', 'track', ?, ?, ?, 0, 0)",
            [(f"user-{n}", b"{}" * 100, f"m-{n}") for n in range(2000)],
        )
