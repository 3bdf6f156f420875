"""`heap-destination health`, as a container's health check runs it."""

import subprocess

from tests.support.processes import COMMAND, free_address, start_service


def _health(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COMMAND, "health", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_a_serving_service_is_healthy(simulator: str) -> None:
    service = start_service(free_address(), simulator)
    try:
        whole = _health("--target", service.address())
        named = _health(
            "--target", service.address(), "--service", "heap_destination.v1.HeapDestinationService"
        )
        unknown = _health("--target", service.address(), "--service", "no.such.Service")
    finally:
        service.stop()

    assert (whole.returncode, whole.stdout) == (0, "SERVING\n")
    assert (named.returncode, named.stdout) == (0, "SERVING\n")
    assert unknown.returncode == 1
    assert "NOT_FOUND" in unknown.stderr


def test_no_service_at_the_target_is_unhealthy() -> None:
    checked = _health("--target", free_address(), "--timeout", "1")

    assert checked.returncode == 1
    assert "UNAVAILABLE" in checked.stderr or "DEADLINE_EXCEEDED" in checked.stderr
