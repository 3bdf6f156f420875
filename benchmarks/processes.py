"""The simulator and the service as child processes: started, watched, always stopped."""

import contextlib
import ctypes
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

_PR_SET_PDEATHSIG = 1
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Child:
    """A child process whose output goes to `log`; `port` is the one it reported."""

    popen: subprocess.Popen[bytes]
    log: Path
    port: int

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log_count(self, text: str) -> int:
        """How many lines of the output so far contain `text`."""
        return sum(text in line for line in self.log.read_text(errors="replace").splitlines())

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@dataclass(frozen=True)
class Usage:
    peak_mb: float
    """VmHWM: peak resident memory since the last reset_peak (or since start)."""
    rss_mb: float
    cpu_seconds: float
    """User plus system CPU seconds: since start, or (in a Row) during the scenario."""


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it if the benchmark dies, even by SIGKILL."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@contextlib.contextmanager
def child(
    command: Sequence[str], log: Path, ready: re.Pattern[str], timeout: float
) -> Iterator[Child]:
    """Starts `command` and yields once its output matches `ready` (group "port")."""
    with log.open("wb") as output:
        popen = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
        )
    try:
        port = _wait_until_ready(popen, log, ready, timeout)
        yield Child(popen, log, port)
    finally:
        _stop(popen)


def _wait_until_ready(
    popen: subprocess.Popen[bytes], log: Path, ready: re.Pattern[str], timeout: float
) -> int:
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        match = ready.search(log.read_text(errors="replace"))
        if match:
            return int(match["port"])
        if popen.poll() is not None:
            raise RuntimeError(f"{popen.args!r} exited with {popen.returncode}:\n{log.read_text()}")
        time.sleep(0.05)
    raise TimeoutError(f"{popen.args!r} not ready after {timeout} s:\n{log.read_text()}")


def _stop(popen: subprocess.Popen[bytes]) -> None:
    if popen.poll() is not None:
        return
    popen.terminate()
    try:
        popen.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        popen.kill()
        popen.wait(STOP_TIMEOUT)


def reset_peak(pid: int) -> None:
    """Restarts the VmHWM count (Linux: writing 5 to clear_refs)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def usage(pid: int) -> Usage:
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )

    def megabytes(field: str) -> float:
        return int(status[field].split()[0]) / 1024

    # Fields after the parenthesised command name; utime and stime are 14th and 15th.
    stat = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    ticks = int(stat[11]) + int(stat[12])
    return Usage(megabytes("VmHWM"), megabytes("VmRSS"), ticks / os.sysconf("SC_CLK_TCK"))
