"""The recovery steps of docs/operations.md ("Recovering a damaged store"), with the
sqlite3 shell: what they read out of a damaged store is a store the service opens.
Skipped where the shell is missing or cannot do the step."""

import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import pytest

from tests.support.damaged_store import damage_items
from tests.support.processes import COMMAND

ITEMS = 2000
# Each item's row here takes some 250 bytes: a damaged 4 KiB page holds far fewer.
AT_MOST_LOST = 30

SHELL = shutil.which("sqlite3")
RECOVER = "sqlite3 store.db .recover | sqlite3 recovered.db"
DUMP = (
    "sqlite3 store.db .dump | sed 's/^ROLLBACK; -- due to errors$/COMMIT;/' | sqlite3 recovered.db"
)


def _shell_recovers(directory: Path) -> bool:
    """Whether this shell has .recover: some distributions build it without the
    sqlite_dbpage table that .recover reads, and it fails even on a sound file."""
    probe = directory / "probe.db"
    with closing(sqlite3.connect(probe)) as db, db:
        db.execute("CREATE TABLE t (x)")
    return subprocess.run([str(SHELL), str(probe), ".recover"], capture_output=True).returncode == 0


@pytest.fixture
def damaged(tmp_path: Path) -> Path:
    if SHELL is None:
        pytest.skip("no sqlite3 shell here")
    path = tmp_path / "store.db"
    assert _migrate(path).returncode == 0
    with closing(sqlite3.connect(path)) as db, db:
        db.executemany(
            "INSERT INTO items (app_id, base_url, endpoint, identity, body, message_id, "
            "accepted_at, due_at) VALUES ('1234567890', 'http://h', 'track', ?, ?, ?, 0, 0)",
            [(f"user-{n}", b"{}" * 100, f"m-{n}") for n in range(ITEMS)],
        )
    damage_items(path)
    return path


@pytest.mark.parametrize("steps", [RECOVER, DUMP], ids=[".recover", ".dump"])
def test_the_shells_recovery_makes_a_store_the_service_opens(damaged: Path, steps: str) -> None:
    if steps == RECOVER and not _shell_recovers(damaged.parent):
        pytest.skip("this sqlite3 shell cannot .recover (built without sqlite_dbpage)")

    subprocess.run(["bash", "-c", steps], cwd=damaged.parent, check=True, capture_output=True)

    recovered = damaged.parent / "recovered.db"
    assert _migrate(recovered).returncode == 0, "the service refuses the recovered store"
    with closing(sqlite3.connect(recovered)) as db:
        (count,) = db.execute("SELECT COUNT(*) FROM items").fetchone()
        (sequence,) = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'items'").fetchone()
    assert ITEMS - AT_MOST_LOST <= count < ITEMS
    assert sequence == ITEMS, "ids of lost items must not be given again"


def _migrate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COMMAND, "store", "migrate", "--store", f"sqlite:{path}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
