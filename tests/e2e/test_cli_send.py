"""`heap-destination send` against a running service, as a person would use it."""

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import COMMAND, free_address, start_service, start_simulator
from tests.support.simulator_api import tracked_events

APP_ID = "1234567890"
FLATTENING_EXAMPLE = {"foo": {"bar": {"cheese": "american", "prop": [1, 2, 3]}}}


@pytest.fixture
def running() -> Iterator[tuple[str, str]]:
    simulator_address = free_address()
    simulator = start_simulator(simulator_address)
    service = start_service(free_address(), f"http://{simulator_address}")
    yield service.address(), f"http://{simulator_address}"
    service.stop()
    simulator.stop()


def _send(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COMMAND, "send", *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_send_track_prints_what_heap_received(running: tuple[str, str]) -> None:
    target, simulator = running

    sent = _send(
        "track",
        "--target",
        target,
        "--app-id",
        APP_ID,
        "--user-id",
        "u1",
        "--event",
        "Signed Up",
        "--properties",
        json.dumps(FLATTENING_EXAMPLE),
    )

    assert sent.returncode == 0, sent.stderr
    response = json.loads(sent.stdout)
    assert response["identity"] == "u1"
    assert response["properties"] == {"foo.bar.cheese": "american", "foo.bar.prop": "[1,2,3]"}
    assert [e["event"] for e in tracked_events(simulator)] == ["Signed Up"]


def test_send_identify_and_a_bad_track(running: tuple[str, str]) -> None:
    target, _ = running

    identified = _send(
        "identify",
        "--target",
        target,
        "--app-id",
        APP_ID,
        "--user-id",
        "u1",
        "--traits",
        '{"plan": "pro"}',
        "--heap-user-id",
        "42",
    )
    refused = _send("track", "--target", target, "--app-id", APP_ID, "--event", "No User")

    assert identified.returncode == 0, identified.stderr
    assert json.loads(identified.stdout)["heap_user_id"] == "42"
    assert refused.returncode == 1
    assert json.loads(refused.stderr)["field_violations"] == {
        "user_id": "required: Heap needs an identity"
    }


def test_send_events_streams_a_json_lines_file_and_reports_progress(
    running: tuple[str, str], tmp_path: Path
) -> None:
    target, simulator = running
    lines = tmp_path / "events.jsonl"
    with lines.open("w") as out:
        for n in range(10_000):
            event = {
                "track": {
                    "user_id": f"u{n % 100}",
                    "event": "Imported",
                    "properties": FLATTENING_EXAMPLE,
                }
            }
            out.write(json.dumps(event) + "\n")

    sent = _send("events", str(lines), "--target", target, "--app-id", APP_ID)

    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout.splitlines()[-1]) == {
        "sent": 10_000,
        "delivered": 10_000,
        "failed": 0,
        "unreadable_lines": 0,
    }
    assert "delivered 10000" in sent.stderr
    delivered = tracked_events(simulator)
    assert len(delivered) == 10_000
    assert len({e["idempotency_key"] for e in delivered}) == 10_000
    assert {e["event"] for e in delivered} == {"Imported"}


@pytest.mark.parametrize("command", [[], ["track"], ["identify"], ["events"]])
def test_every_send_command_has_help(command: list[str]) -> None:
    shown = _send(*command, "--help")

    assert shown.returncode == 0
    assert "usage: heap-destination send" in shown.stdout
