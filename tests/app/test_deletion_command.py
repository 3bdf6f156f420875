"""`heap-destination delete-users` and `deletion-status` against a real service."""

import argparse
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from heap_destination.app.commands.deletion import add_deletion_commands
from heap_destination.app.options import SettingsError
from heap_destination.sim import HeapSimulator
from tests.conftest import APP_ID
from tests.integration.deletion_support import API_KEY, USER_DELETION
from tests.support.background_service import BackgroundService

Run = Callable[..., int]


@pytest.fixture
def simulator() -> Iterator[HeapSimulator]:
    with HeapSimulator(api_key=API_KEY) as running:
        yield running


@pytest.fixture
def run(simulator: HeapSimulator, start_service: Callable[..., BackgroundService]) -> Run:
    """Runs the command with ARGS against a service holding the simulator's key."""
    service = start_service(base_url=simulator.url, heap_api_key=API_KEY)

    def command(*argv: str) -> int:
        parser = argparse.ArgumentParser()
        add_deletion_commands(parser.add_subparsers())
        args = parser.parse_args(list(argv))
        return int(args.command(args, {"HEAP_DESTINATION_TARGET": service.target}))

    return command


def test_delete_users_sends_identities_from_a_file_and_heap_user_ids(
    run: Run, simulator: HeapSimulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    identities = tmp_path / "identities.txt"
    identities.write_text("alice@example.com\n\nbob@example.com\n")

    code = run(
        *("delete-users", "--app-id", APP_ID),
        *("--identities-file", str(identities), "--heap-user-id", "42"),
    )

    assert code == 0
    [request] = [r.body for r in simulator.accepted() if r.path == USER_DELETION]
    assert request == {
        "users": [
            {"identity": "alice@example.com"},
            {"identity": "bob@example.com"},
            {"user_id": "42"},
        ]
    }
    out = capsys.readouterr().out
    assert ": 3 users (pending)" in out
    assert f"app={APP_ID} identities=2 heap_user_ids=1 purged_stored_events=0" in out


def test_deletion_status_prints_heaps_status_and_json_on_request(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("delete-users", "--app-id", APP_ID, "--identity", "alice", "--json") == 0
    deleted = json.loads(capsys.readouterr().out)
    [request] = deleted["deletion_requests"]

    code = run("deletion-status", "--app-id", APP_ID, request["deletion_request_id"])

    assert code == 0
    assert (
        capsys.readouterr().out == f"deletion request {request['deletion_request_id']}: pending\n"
    )


def test_a_refused_call_prints_the_code_and_exits_1(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("delete-users", "--app-id", "not-an-app", "--identity", "alice") == 1
    assert "INVALID_ARGUMENT" in capsys.readouterr().err


def test_delete_users_needs_someone_to_delete(run: Run) -> None:
    with pytest.raises(SettingsError, match="--identity, --identities-file or --heap-user-id"):
        run("delete-users", "--app-id", APP_ID)
