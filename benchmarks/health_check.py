"""The CPU time of one `heap-destination health` against a live service: what a container
HEALTHCHECK or an exec probe pays every few seconds. The median of RUNS runs of each
check, user plus system seconds of the command's process (from wait4), next to the 0.3 s
it must stay under."""

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks import processes

RUNS = 5
BUDGET_SECONDS = 0.3


def cpu_seconds(command: list[str]) -> float:
    """User plus system CPU seconds of `command`, which must exit 0."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{command} exited with {process.returncode}")
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    health = str(processes.BIN / "heap-destination")
    with tempfile.TemporaryDirectory(prefix="heap-bench-health-") as scratch:
        logs = Path(scratch)
        simulate = [health, "simulate", "--listen", "127.0.0.1:0"]
        with processes.child(
            simulate, logs / "sim.log", processes.SIMULATOR_READY, processes.START_TIMEOUT
        ) as sim:
            serve = processes.serve_command(f"http://127.0.0.1:{sim.port}")
            with processes.child(
                serve, logs / "service.log", processes.SERVICE_READY, processes.START_TIMEOUT
            ) as service:
                target = f"127.0.0.1:{service.port}"
                medians = {
                    check: statistics.median(
                        cpu_seconds([health, "health", "--target", target, "--check", check])
                        for _ in range(RUNS)
                    )
                    for check in ("readiness", "liveness")
                }
    for check, seconds in medians.items():
        verdict = "within" if seconds <= BUDGET_SECONDS else "OVER"
        print(
            f"heap-destination health --check {check}: {seconds:.3f} s of CPU "
            f"(median of {RUNS}; {verdict} the {BUDGET_SECONDS} s budget)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
