"""Processes a test run started and left running, read from /proc (Linux).

A run marks itself with an environment variable that every process it starts inherits;
a process still carrying the mark when the run ends was left behind, even one that was
re-parented after its parent died. Direct children count too, in case a test replaced
the environment of what it started.
"""

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

MARK_VARIABLE = "HEAP_DESTINATION_TEST_RUN"
PROC = Path("/proc")
# Helpers of `multiprocessing` that end with the process that started them.
_ENDS_WITH_ITS_PARENT = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")


@dataclass(frozen=True)
class Leftover:
    pid: int
    command: str

    def __str__(self) -> str:
        return f"pid {self.pid}: {self.command}"


def mark_this_run() -> str:
    """Marks this process, and so everything it starts from now on; returns the mark."""
    mark = uuid.uuid4().hex
    os.environ[MARK_VARIABLE] = mark
    return mark


def leftovers(mark: str, wait: float = 5.0) -> list[Leftover]:
    """Processes started under `mark` (or children of this one) still running after `wait`
    seconds: a process stopped just now may need a moment to exit."""
    give_up = time.monotonic() + wait
    while True:
        found = _running_under(mark)
        if not found or time.monotonic() > give_up:
            return found
        time.sleep(0.1)


def _running_under(mark: str) -> list[Leftover]:
    me = os.getpid()
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            state, parent = _state_and_parent(entry)
            carries_mark = f"{MARK_VARIABLE}={mark}".encode() in (entry / "environ").read_bytes()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except (OSError, ValueError):
            continue  # gone meanwhile, or not ours to read
        if state == "Z" or not (carries_mark or parent == me):
            continue
        if parent == me and any(helper in command for helper in _ENDS_WITH_ITS_PARENT):
            continue
        found.append(Leftover(int(entry.name), command or f"[{entry.name}]"))
    return found


def _state_and_parent(entry: Path) -> tuple[str, int]:
    # The command name in parentheses may hold spaces; the fields after it do not.
    fields = (entry / "stat").read_text().rpartition(")")[2].split()
    return fields[0], int(fields[1])
