"""`heap-destination send` against a running service, as a person would use it."""

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import COMMAND, free_address, start_service, start_simulator
from tests.support.simulator_api import account_updates, tracked_events, user_property_updates
from tests.support.wait import wait_until

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


def test_send_account_prints_what_heap_received(running: tuple[str, str]) -> None:
    target, simulator = running
    properties = {"plan": "enterprise", "billing": {"seats": 25, "regions": ["eu", "us"]}}

    sent = _send(
        "account",
        "--target",
        target,
        "--app-id",
        APP_ID,
        "--account-id",
        "acme",
        "--properties",
        json.dumps(properties),
        "--message-id",
        "account-1",
    )

    assert sent.returncode == 0, sent.stderr
    flat = {"plan": "enterprise", "billing.seats": 25, "billing.regions": '["eu","us"]'}
    assert json.loads(sent.stdout) == {"app_id": APP_ID, "account_id": "acme", "properties": flat}
    assert account_updates(simulator) == [
        {"app_id": APP_ID, "account_id": "acme", "properties": flat}
    ]
    assert tracked_events(simulator) == []


def test_send_account_refuses_a_blank_account_id_and_bad_arguments(
    running: tuple[str, str],
) -> None:
    target, simulator = running
    connection = ["--target", target, "--app-id", APP_ID]

    blank = _send("account", *connection, "--account-id", " ", "--properties", '{"plan": "pro"}')
    no_properties = _send("account", *connection, "--account-id", "acme", "--properties", "{}")
    not_an_object = _send("account", *connection, "--account-id", "acme", "--properties", "[1]")
    no_account_id = _send("account", *connection, "--properties", '{"plan": "pro"}')

    assert blank.returncode == 1, blank.stdout
    refused = json.loads(blank.stderr)
    assert (refused["code"], refused["reason"]) == ("INVALID_ARGUMENT", "INVALID_EVENT")
    assert refused["field_violations"] == {"account_id": "required: Heap needs an account id"}
    assert no_properties.returncode == 1, no_properties.stdout
    assert list(json.loads(no_properties.stderr)["field_violations"]) == ["properties"]
    assert not_an_object.returncode == 2
    assert "--properties: must be a JSON object" in not_an_object.stderr
    assert no_account_id.returncode == 2
    assert "--account-id" in no_account_id.stderr
    assert account_updates(simulator) == []


def test_send_account_in_ack_mode_stored(tmp_path: Path) -> None:
    simulator_address = free_address()
    simulator = start_simulator(simulator_address)
    simulator_url = f"http://{simulator_address}"
    try:
        store = f"sqlite:{tmp_path / 'store.db'}"
        service = start_service(free_address(), simulator_url, "--store", store)
        try:
            sent = _send(
                "account",
                "--target",
                service.address(),
                "--app-id",
                APP_ID,
                "--ack-mode",
                "stored",
                "--account-id",
                "acme",
                "--properties",
                '{"plan": "pro"}',
            )

            assert sent.returncode == 0, sent.stderr
            assert json.loads(sent.stdout)["properties"] == {"plan": "pro"}
            wait_until(lambda: account_updates(simulator_url) != [], timeout=30, interval=0.1)
            assert account_updates(simulator_url) == [
                {"app_id": APP_ID, "account_id": "acme", "properties": {"plan": "pro"}}
            ]
        finally:
            service.stop()
    finally:
        simulator.stop()


def test_send_events_takes_account_lines_next_to_track_and_identify(
    running: tuple[str, str], tmp_path: Path
) -> None:
    target, simulator = running
    lines = [
        {"id": f"account-{n}", "account": {"account_id": f"a{n}", "properties": {"n": n}}}
        for n in range(300)
    ]
    lines += [
        {"account": {"accountId": "camel", "properties": {"owner": {"team": "core"}}}},
        {"id": "bad", "account": {"account_id": "", "properties": {"n": -1}}},
        {"id": "track", "track": {"user_id": "u1", "event": "Imported"}},
        {"id": "identify", "identify": {"user_id": "u1", "traits": {"plan": "pro"}}},
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))

    sent = _send(
        "events", str(path), "--target", target, "--app-id", APP_ID, "--per-message", "100"
    )

    assert sent.returncode == 1, sent.stderr
    assert json.loads(sent.stdout.splitlines()[-1]) == {
        "sent": 304,
        "delivered": 303,
        "failed": 1,
        "unreadable_lines": 0,
    }
    assert "event bad: INVALID_EVENT" in sent.stderr
    assert "account_id" in sent.stderr
    updates = sorted(account_updates(simulator), key=lambda update: str(update["account_id"]))
    expected = [
        {"app_id": APP_ID, "account_id": f"a{n}", "properties": {"n": n}} for n in range(300)
    ]
    expected.append({"app_id": APP_ID, "account_id": "camel", "properties": {"owner.team": "core"}})
    assert updates == sorted(expected, key=lambda update: str(update["account_id"]))
    assert [e["event"] for e in tracked_events(simulator)] == ["Imported"]
    assert [u["identity"] for u in user_property_updates(simulator)] == ["u1"]


@pytest.mark.parametrize("command", [[], ["track"], ["identify"], ["account"], ["events"]])
def test_every_send_command_has_help(command: list[str]) -> None:
    shown = _send(*command, "--help")

    assert shown.returncode == 0
    assert "usage: heap-destination send" in shown.stdout
