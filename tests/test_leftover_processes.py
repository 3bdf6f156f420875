"""The check that fails a run when a process a test started outlives it."""

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support.leftover_processes import MARK_VARIABLE, leftovers, mark_this_run

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


@pytest.fixture
def own_mark() -> Iterator[str]:
    """A mark of this test's own; the run's mark again afterwards."""
    run_mark = os.environ[MARK_VARIABLE]
    yield mark_this_run()
    os.environ[MARK_VARIABLE] = run_mark


def test_a_process_started_under_the_mark_is_named_until_it_ends(own_mark: str) -> None:
    sleeper = subprocess.Popen(SLEEPER)
    try:
        found = leftovers(own_mark, wait=0)
    finally:
        sleeper.kill()
        sleeper.wait()

    assert [(process.pid, process.command) for process in found] == [
        (sleeper.pid, " ".join(SLEEPER))
    ]
    assert leftovers(own_mark, wait=0) == []


def test_a_process_whose_parent_died_is_still_found_by_its_mark(own_mark: str) -> None:
    # The shell starts the sleeper in the background and exits: the sleeper is re-parented.
    script = f"{' '.join(SLEEPER[:2])} '{SLEEPER[2]}' >/dev/null 2>&1 & echo $!"
    shell = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    orphan = int(shell.stdout)
    try:
        found = [process.pid for process in leftovers(own_mark, wait=0)]
    finally:
        os.kill(orphan, 9)

    assert found == [orphan]
    assert leftovers(own_mark, wait=5) == []
