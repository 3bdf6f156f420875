"""`heap-destination health`, as a container's health check or a probe runs it: readiness
(the default) and liveness, over plaintext or mTLS, with a token."""

import subprocess
from pathlib import Path

from tests.support.certificates import make_certificates
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


def test_liveness_and_readiness_of_a_service_with_mtls_and_a_token_file(
    simulator: str, tmp_path: Path
) -> None:
    certificates = make_certificates(tmp_path)
    token = tmp_path / "token"
    token.write_text("health-token\n")
    service = start_service(
        free_address(),
        simulator,
        *("--tls-cert", str(certificates.server_cert), "--tls-key", str(certificates.server_key)),
        *("--tls-client-ca", str(certificates.ca)),
    )
    client = (
        "--tls-cert",
        str(certificates.client_cert),
        "--tls-key",
        str(certificates.client_key),
    )
    try:
        target = ("--target", f"localhost:{service.address().rpartition(':')[2]}")
        ready = _health(
            *target, "--tls-ca", str(certificates.ca), *client, "--token-file", str(token)
        )
        alive = _health(*target, "--tls-ca", str(certificates.ca), *client, "--check", "liveness")
        no_client_certificate = _health(*target, "--tls-ca", str(certificates.ca), "--timeout", "2")
        half_a_certificate = _health(*target, "--tls-cert", str(certificates.client_cert))
    finally:
        service.stop()

    assert (ready.returncode, ready.stdout) == (0, "SERVING\n"), ready.stderr
    assert (alive.returncode, alive.stdout) == (0, "SERVING\n"), alive.stderr
    assert no_client_certificate.returncode == 1
    assert half_a_certificate.returncode == 2
    assert "needs both --tls-cert and --tls-key" in half_a_certificate.stderr


def test_a_health_mistake_prints_the_health_usage() -> None:
    checked = _health("--check", "alive")

    assert checked.returncode == 2
    assert checked.stderr.startswith("usage: heap-destination health ")
    assert "argument --check: invalid choice: 'alive'" in checked.stderr
