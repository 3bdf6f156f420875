"""What the README says: `make run`, then the README's example, then what Heap received."""

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.simulator_api import tracked_events
from tests.support.wait import wait_until

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def make_run() -> Iterator[tuple[str, str]]:
    service, simulator = f"127.0.0.1:{_free_port()}", f"127.0.0.1:{_free_port()}"
    env = {
        **os.environ,
        "HEAP_DESTINATION_LISTEN": service,
        "HEAP_SIMULATOR_LISTEN": simulator,
        # Not run's fixed 127.0.0.1:8790, which another run on this machine may hold.
        "HEAP_DESTINATION_HTTP_LISTEN": f"127.0.0.1:{_free_port()}",
    }
    for name in ("HEAP_APP_ID", "HEAP_REGION", "HEAP_BASE_URL"):
        env.pop(name, None)
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    log: list[str] = []
    assert process.stdout is not None
    wait_until(lambda: _read_line(process, log) and "service listening" in log[-1], 60)
    try:
        http = env["HEAP_DESTINATION_HTTP_LISTEN"]
        assert any(f"HTTP intake listening on {http}" in line for line in log), "".join(log)
        yield service, f"http://{simulator}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _read_line(process: subprocess.Popen[str], log: list[str]) -> bool:
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line and process.poll() is not None:
        raise AssertionError("make run exited early:\n" + "".join(log))
    log.append(line)
    return True


def test_make_run_delivers_the_readme_example_to_the_simulator(
    make_run: tuple[str, str],
) -> None:
    service, simulator_url = make_run

    example = subprocess.run(
        [sys.executable, str(REPO / "examples" / "send_flattening_example.py"), service],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    response = json.loads(example.stdout)
    assert (response["event"], response["identity"]) == ("Signed Up", "user-42")
    [event] = tracked_events(simulator_url)
    assert event["identity"] == "user-42"
    assert event["event"] == "Signed Up"
    assert event["properties"] == {
        "foo.bar.cheese": "american",
        "foo.bar.prop": "[1,2,3]",
        "foo.bar.products": '[{"A":"Jello"},{"B":"Peanut"}]',
    }


def test_make_run_stores_an_event_in_stored_mode_and_reports_it_delivered(
    make_run: tuple[str, str],
) -> None:
    service, simulator_url = make_run
    message_id = f"stored-{os.getpid()}-{_free_port()}"
    command = [str(REPO / ".venv" / "bin" / "heap-destination")]

    sent = subprocess.run(
        [
            *command,
            *("send", "track", "--target", service, "--app-id", "1234567890"),
            *("--ack-mode", "stored", "--user-id", "u1", "--event", "Stored"),
            *("--message-id", message_id),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sent.returncode == 0, sent.stderr

    wait_until(
        lambda: any(e["idempotency_key"] == message_id for e in tracked_events(simulator_url)),
        30,
        0.1,
    )

    def status() -> str:
        shown = subprocess.run(
            [
                *command,
                "deliveries",
                "status",
                "--target",
                service,
                "--message-id",
                message_id,
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return str(json.loads(shown.stdout)["events"][0]["status"])

    wait_until(lambda: status() == "DELIVERY_STATUS_DELIVERED", 30, 0.2)
