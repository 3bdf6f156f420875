"""A second service on an address a running one holds (a forgotten `make run`) stops at
once with exit code 2 and one line naming the flag, the address and the process holding
it, for the gRPC, the HTTP intake's and the metrics address, and under --workers too."""

import subprocess
from collections.abc import Iterator

import pytest

from tests.support.processes import COMMAND, free_address, start_service, start_simulator


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
