"""The simulator and the service as child processes: started, watched, always stopped."""

import contextlib
import ctypes
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

_PR_SET_PDEATHSIG = 1
STOP_TIMEOUT = 10.0
START_TIMEOUT = 30.0
BIN = Path(sys.executable).parent
SIMULATOR_READY = re.compile(r"Heap simulator listening on http://[\d.]+:(?P<port>\d+)")
SERVICE_READY = re.compile(r"Heap destination service listening on [\d.]+:(?P<port>\d+)")
"""Logged by each server process: once, or once per worker with --workers."""
SERVICE_RETRY = "retrying Heap request"


def serve_command(heap_url: str, workers: int = 1, bin_dir: Path = BIN) -> list[str]:
    """The service as every benchmark runs it: rate limits off, so the figures show raw
    throughput; metrics on, as in production. `bin_dir`: the virtual environment's (of
    this checkout, or of another to compare with)."""
    return [
        str(bin_dir / "heap-destination"),
        "serve",
        "--listen=127.0.0.1:0",
        f"--base-url={heap_url}",
        "--rate-limit-per-app=0",
        "--rate-limit-per-identity=0",
        "--grace-period=2",  # nothing is pending at the end; stop quickly if it is
        "--metrics-listen=127.0.0.1:0",  # on a free port (each worker its own)
        f"--workers={workers}",
    ]


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
    command: Sequence[str], log: Path, ready: re.Pattern[str], timeout: float, count: int = 1
) -> Iterator[Child]:
    """Starts `command` and yields once `count` lines of its output match `ready` (group
    "port"; several worker processes each log their own line)."""
    with log.open("wb") as output:
        popen = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
        )
    try:
        port = _wait_until_ready(popen, log, ready, timeout, count)
        yield Child(popen, log, port)
    finally:
        _stop(popen)


def _wait_until_ready(
    popen: subprocess.Popen[bytes], log: Path, ready: re.Pattern[str], timeout: float, count: int
) -> int:
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        matches = list(ready.finditer(log.read_text(errors="replace")))
        if len(matches) >= count:
            return int(matches[0]["port"])
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


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (found by their parent ids in /proc/*/stat)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            parents[int(stat.parent.name)] = int(stat.read_text().rpartition(")")[2].split()[1])
    tree = [pid]
    for member in tree:  # grows while it is walked: breadth first
        tree.extend(child for child, parent in parents.items() if parent == member)
    return tree


def tcp_sockets(pid: int, port: int, state: str) -> set[int]:
    """Inodes of the TCP sockets `pid` holds on local `port` in `state` ("01": established,
    "0A": listening), from /proc/PID/fd and /proc/net/tcp{,6} (gRPC uses IPv6 sockets)."""
    held: set[int] = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                held.add(int(target[len("socket:[") : -1]))
    on_port: set[int] = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rpartition(":")[2], 16) == port and fields[3] == state:
                on_port.add(int(fields[9]))
    return held & on_port


def machine_busy_seconds() -> float:
    """CPU seconds of all CPUs since boot, any process: user, nice, system, irq, softirq."""
    ticks = [int(field) for field in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = ticks[:7]
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")
