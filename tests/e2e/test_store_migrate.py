"""`heap-destination store migrate`, run as docs/delivery.md says."""

import sqlite3
import subprocess
from pathlib import Path

from heap_destination.store.migrations import LATEST_VERSION
from tests.support.processes import COMMAND


def _migrate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COMMAND, "store", "migrate", *args], capture_output=True, text=True, timeout=60
    )


def test_migrate_creates_the_sqlite_store_and_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "data" / "store.db"

    first = _migrate("--store", f"sqlite:{path}", "--create-dirs")
    second = _migrate("--store", f"sqlite:{path}")

    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert f"version {LATEST_VERSION}" in second.stderr
    with sqlite3.connect(path) as db:
        versions = [row[0] for row in db.execute("SELECT version FROM schema_version")]
    assert versions == list(range(1, LATEST_VERSION + 1))


def test_migrate_without_a_store_or_with_a_bad_one_says_what_is_wrong() -> None:
    missing, bad = _migrate(), _migrate("--store", "mysql://db/heap")

    assert missing.returncode == 2 and "--store or HEAP_STORE" in missing.stderr
    assert bad.returncode == 2 and "unknown scheme 'mysql'" in bad.stderr


def test_migrate_reports_an_unreachable_postgresql_in_one_line() -> None:
    result = _migrate("--store", "postgresql://postgres@127.0.0.1:1/test")

    assert result.returncode == 1
    assert result.stderr.startswith("heap-destination: the store cannot be reached")
    assert "Traceback" not in result.stderr


def test_a_missing_directory_is_refused_unless_create_dirs(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent" / "dir"
    url = f"sqlite:{missing / 'x.db'}"

    refused = _migrate("--store", url)
    served = subprocess.run(
        [COMMAND, "serve", "--store", url, "--listen", "127.0.0.1:0", "--metrics-listen", "off"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    made = _migrate("--store", url, "--create-dirs")

    for finished in (refused, served):
        assert finished.returncode == 2, finished.stderr
        assert finished.stderr.strip().splitlines()[-1] == (
            f"heap-destination: --store {url}: the directory {missing} does not exist; "
            "make it, or pass --create-dirs to have it made"
        )
    assert made.returncode == 0, made.stderr
    assert (missing / "x.db").is_file()


def test_an_abbreviated_or_unknown_flag_is_refused_with_the_commands_usage() -> None:
    abbreviated = _migrate("--sto", "sqlite:x.db")
    unknown = subprocess.run(
        [COMMAND, "serve", "--no-such-flag"], capture_output=True, text=True, timeout=60
    )

    assert abbreviated.returncode == 2
    assert abbreviated.stderr.startswith("usage: heap-destination store migrate ")
    assert "unrecognized arguments: --sto sqlite:x.db" in abbreviated.stderr
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("usage: heap-destination serve ")
