"""A second service on an address a running one holds (a forgotten `make run`) stops at
once with exit code 2 and one line naming the flag, the address and the process holding
it, for the gRPC, the HTTP intake's and the metrics address, and under --workers too."""

import subprocess
from collections.abc import Iterator

import pytest

from tests.support.processes import (
    COMMAND,
    Process,
    free_address,
    start_service,
    start_simulator,
)
from tests.support.wait import wait_until


@pytest.fixture(scope="module")
def running() -> Iterator[dict[str, str]]:
    """A simulator and a service holding a gRPC, an HTTP and a metrics address."""
    simulator_address = free_address()
    simulator = start_simulator(simulator_address)
    http, metrics = free_address(), free_address()
    service = start_service(
        free_address(),
        f"http://{simulator_address}",
        *("--http-listen", http, "--metrics-listen", metrics),
    )
    yield {
        "simulator": f"http://{simulator_address}",
        "--listen": service.address(),
        "--http-listen": http,
        "--metrics-listen": metrics,
        "pid": str(service.pid),
    }
    service.stop()
    simulator.stop()


def _serve(simulator: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COMMAND, "serve", "--base-url", simulator, "--listen", free_address(), *flags],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("flag", ["--listen", "--http-listen", "--metrics-listen"])
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_busy_address_stops_a_second_service_naming_it(
    running: dict[str, str], flag: str, workers: str
) -> None:
    others = {"--http-listen": "off", "--metrics-listen": "off"}
    others[flag] = running[flag]
    flags = [word for pair in others.items() for word in pair]
    if flag == "--listen":
        flags += ["--listen", running["--listen"]]

    finished = _serve(running["simulator"], *flags, "--workers", workers)

    error_lines = [line for line in finished.stderr.splitlines() if "heap-destination:" in line]
    assert finished.returncode == 2, finished.stdout + finished.stderr
    assert error_lines == [
        f"heap-destination: {flag} {running[flag]}: the address is in use by pid "
        f"{running['pid']} ({error_lines[0].split('(', 1)[1]}"
    ]
    assert "heap-destination serve" in error_lines[0]
    assert "listening" not in finished.stdout + finished.stderr


def test_no_service_joins_a_workers_port_and_workers_join_none(simulator: str) -> None:
    """Workers share their port among themselves only: a second group of workers (which
    the kernel would let join, being the same user's SO_REUSEPORT sockets) and a single
    process are refused on their port, even before the workers listen (workers on a
    single process's port: see above)."""
    command = [COMMAND, "serve", "--listen", free_address(), "--base-url", simulator]
    workers = Process([*command, "--metrics-listen", "off", "--workers", "2"], "started 2 workers")
    try:
        address = workers.address("workers")
        flags = ("--listen", address, "--metrics-listen", "off")
        # At once, while the workers may still be starting: the parent's reservation holds.
        while_starting = _serve(simulator, *flags, "--workers", "2")
        wait_until(lambda: sum("service listening" in line for line in workers.lines) == 2, 30)
        second_group = _serve(simulator, *flags, "--workers", "2")
        single = _serve(simulator, *flags)
        workers.terminate()  # the parent stops its workers (SIGKILL would leave them)
        workers.wait(timeout=30)
    finally:
        workers.stop()

    assert while_starting.returncode == 2, while_starting.stdout + while_starting.stderr
    # /proc/net/tcp lists listening sockets, not the reservation: named once a worker listens.
    assert f"heap-destination: --listen {address}: the address is in use" in (while_starting.stderr)
    for finished in (second_group, single):
        assert finished.returncode == 2, finished.stdout + finished.stderr
        assert f"heap-destination: --listen {address}: the address is in use by pid" in (
            finished.stderr
        )
        holder = finished.stderr.rpartition("in use by ")[2]
        assert holder.startswith(f"pid {workers.pid} (") or f"worker of pid {workers.pid} (" in (
            holder
        )
