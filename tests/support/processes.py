"""The service and the simulator as separate processes, started the way the README says."""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

COMMAND = str(Path(sys.executable).with_name("heap-destination"))


def free_address() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


class Process:
    """A child process whose output is collected line by line as it comes."""

    def __init__(
        self,
        args: list[str],
        ready_line: str,
        timeout: float = 30,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self._process = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
            cwd=cwd,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        give_up = time.monotonic() + timeout
        while not any(ready_line in line for line in self.lines):
            if self._process.poll() is not None or time.monotonic() > give_up:
                self.stop()
                raise AssertionError(f"{args[:2]} did not start:\n{''.join(self.lines)}")
            time.sleep(0.05)

    def address(self, what: str = "service") -> str:
        """The host:port the process logged it listens on."""
        for line in self.lines:
            found = re.search(rf"{what} listening on (?:http://)?([\w.\[\]:]+)", line)
            if found:
                return found.group(1)
        raise AssertionError(f"no '{what} listening on' line:\n{''.join(self.lines)}")

    @property
    def pid(self) -> int:
        return self._process.pid

    def peak_memory_mb(self) -> float:
        """The process's peak resident memory so far (VmHWM)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmHWM in /proc status")

    def terminate(self) -> None:
        os.kill(self.pid, signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        code = self._process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait(timeout=10)

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self.lines.append(line)


def start_simulator(address: str) -> Process:
    return Process([COMMAND, "simulate", "--listen", address], "Heap simulator listening")


def start_service(
    address: str, simulator_url: str, *flags: str, env: dict[str, str] | None = None
) -> Process:
    return Process(
        [
            COMMAND,
            "serve",
            "--listen",
            address,
            "--base-url",
            simulator_url,
            "--metrics-listen",
            "off",
            *flags,
        ],
        "service listening",
        env=env,
    )
