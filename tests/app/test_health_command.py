"""`heap-destination health` is light: dispatched before the command line imports the
server, it loads neither aiohttp, psycopg nor OpenTelemetry (a container runs it every
few seconds; its CPU time is measured by benchmarks/health_check.py). Its two checks
answer apart: liveness stays SERVING while readiness is NOT_SERVING."""

import json
import subprocess
import sys
from collections.abc import Callable

from heap_destination.app.health_reasons import STORE_UNREACHABLE
from tests.support.background_service import BackgroundService
from tests.support.processes import COMMAND

HEAVY = ("aiohttp", "psycopg", "opentelemetry", "prometheus_client", "heap_destination.app.server")

PROGRAM = """
import json, sys
from heap_destination.app import cli
code = cli.main(["health", "--target", "127.0.0.1:1", "--timeout", "0.2"], {})
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def test_the_health_command_imports_nothing_of_the_server() -> None:
    finished = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60, check=True
    )
    answer = json.loads(finished.stdout.splitlines()[-1])

    assert answer["code"] == 1  # nothing serves there
    assert "grpc_health.v1.health_pb2_grpc" in answer["modules"]
    loaded = [
        name
        for name in answer["modules"]
        if any(name == heavy or name.startswith(heavy + ".") for heavy in HEAVY)
    ]
    assert loaded == []


def test_liveness_stays_serving_while_readiness_is_not(
    start_service: Callable[..., BackgroundService],
) -> None:
    service = start_service()

    before = _check(service.target, "readiness"), _check(service.target, "liveness")
    service.hold_health_reason(STORE_UNREACHABLE)
    outage = _check(service.target, "readiness"), _check(service.target, "liveness")
    service.hold_health_reason(STORE_UNREACHABLE, holds=False)
    after = _check(service.target, "readiness")

    assert before == ((0, "SERVING\n"), (0, "SERVING\n"))
    assert outage == ((1, "NOT_SERVING\n"), (0, "SERVING\n"))
    assert after == (0, "SERVING\n")


def _check(target: str, check: str) -> tuple[int, str]:
    finished = subprocess.run(
        [COMMAND, "health", "--target", target, "--check", check],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return finished.returncode, finished.stdout
