"""`--workers`: the parent keeps every worker serving, and health says when one is missing."""

import json
import os
import signal
import subprocess
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.e2e.test_operations import (
    _metrics,
    client_on_a_new_connection,
    metrics_addresses,
)
from tests.support.processes import COMMAND, Process, free_address
from tests.support.wait import wait_until

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
HEALTH_NAMES = ("", "heap_destination.v1.HeapDestinationService")


@pytest.mark.slow
def test_a_killed_worker_is_logged_started_again_and_missed_in_health(simulator: str) -> None:
    # Port 0: each worker serves its metrics on a free port of its own.
    service = _workers(simulator, "--metrics-listen", "127.0.0.1:0")
    try:
        target = service.address("workers")
        wait_until(lambda: _listening(service) == 2, timeout=30, interval=0.05)
        killed = _logged(service, "started 2 workers")[0]["pids"][1]
        wait_until(lambda: _health(target) == [SERVING] * 2, timeout=10, interval=0.05)

        os.kill(killed, signal.SIGKILL)
        wait_until(lambda: _health(target) == [NOT_SERVING] * 2, timeout=10, interval=0.02)
        wait_until(lambda: _logged(service, "started again"), timeout=30, interval=0.05)
        wait_until(lambda: _listening(service) == 3, timeout=30, interval=0.05)
        wait_until(lambda: _health(target) == [SERVING] * 2, timeout=10, interval=0.05)
        restarted_metrics = metrics_addresses(service)[2]
        wait_until(lambda: _served_a_call(target, restarted_metrics), timeout=30)

        death = _logged(service, "was killed by SIGKILL")
        restart = _logged(service, "started again")
        parent_of_restarted = _parent_of(int(restart[0]["pid"]))  # type: ignore[call-overload]
        service.terminate()
        exit_code = service.wait(timeout=30)
    finally:
        service.stop()

    assert [(line["worker"], line["pid"], line["signal"]) for line in death] == [
        (1, killed, "SIGKILL")
    ]
    assert [line["worker"] for line in restart] == [1]
    assert restart[0]["pid"] != killed
    assert parent_of_restarted == service.pid
    assert exit_code == 0


def test_a_worker_that_cannot_start_stops_the_service_with_its_exit_code(simulator: str) -> None:
    finished = subprocess.run(
        [
            COMMAND,
            "serve",
            "--listen",
            free_address(),
            "--base-url",
            simulator,
            "--metrics-listen",
            "off",
            "--workers",
            "2",
            "--store",
            "nosuch:store",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )

    output = finished.stdout + finished.stderr
    assert finished.returncode == 2, output
    assert "heap-destination: --store: store URL 'nosuch:store': unknown scheme" in output
    assert "could not start (exit code 2)" in output
    assert "started again" not in output


def _workers(simulator: str, *flags: str) -> Process:
    return Process(
        [
            COMMAND,
            "serve",
            "--listen",
            free_address(),
            "--base-url",
            simulator,
            "--workers",
            "2",
            *flags,
        ],
        "started 2 workers",
    )


def _listening(service: Process) -> int:
    return sum("service listening" in line for line in service.lines)


def _logged(service: Process, message: str) -> list[dict[str, object]]:
    """The JSON log lines whose message holds `message`."""
    found = []
    for line in list(service.lines):
        if line.startswith("{") and message in line:
            fields = json.loads(line)
            if message in fields["message"]:
                found.append(fields)
    return found


def _health(target: str) -> list[int] | None:
    """Every health status one worker answers, over a new connection (the kernel gives it
    to a worker that listens); None if the call fails."""
    try:
        with grpc.insecure_channel(target) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            return [
                health.Check(health_pb2.HealthCheckRequest(service=name), timeout=2).status
                for name in HEALTH_NAMES
            ]
    except grpc.RpcError:
        return None


def _served_a_call(target: str, worker_metrics: str) -> bool:
    """Makes a call over a new connection; whether the worker at `worker_metrics` has
    served one so far."""
    with client_on_a_new_connection(target) as client:
        client.track("After restart", user_id="u1")
    received = _metrics(worker_metrics).get(
        ("heap_destination_events_received_total", (("kind", "track"), ("via", "unary"))), 0.0
    )
    return received > 0


def _parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
