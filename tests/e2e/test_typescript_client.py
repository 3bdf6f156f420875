"""The TypeScript client (clients/typescript), generated from protos/ by protoc-gen-es,
compiled by `tsc --strict` and run against a real service and simulator."""

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.support.client_programs import npm_installed
from tests.support.simulator_api import tracked_events, user_property_updates

REPO = Path(__file__).resolve().parents[2]
CLIENT = REPO / "clients" / "typescript"
NODE, NPM = shutil.which("node"), shutil.which("npm")
TSC = CLIENT / "node_modules" / ".bin" / "tsc"
APP_ID = "1234567890"
STREAM_EVENTS = 1000


def _run(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Runs a command with the venv's Python as the generator's protoc (grpc_tools)."""
    return subprocess.run(
        args,
        cwd=cwd,
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _output(run: subprocess.CompletedProcess[str]) -> str:
    return f"exit {run.returncode}:\n{run.stdout}{run.stderr}"


@pytest.fixture(scope="module")
def typescript_client() -> Path:
    return npm_installed(CLIENT, "TypeScript client")


def _generate(client: Path, protos: Path, out: Path) -> None:
    assert NPM is not None
    generated = _run(
        [NPM, "run", "--silent", "generate", "--", "--protos", str(protos), "--out", str(out)],
        client,
    )
    assert generated.returncode == 0, f"npm run generate failed: {_output(generated)}"
    assert (out / "heap_destination" / "v1" / "service_pb.ts").is_file()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_typescript_client_against_the_service(
    typescript_client: Path, service_and_simulator: tuple[str, str]
) -> None:
    assert NODE is not None
    target, simulator_url = service_and_simulator
    _generate(typescript_client, REPO / "protos", typescript_client / "gen")
    shutil.rmtree(typescript_client / "dist", ignore_errors=True)
    built = _run([str(TSC), "-p", "tsconfig.json", "--strict"], typescript_client)
    assert built.returncode == 0, f"tsc --strict failed: {_output(built)}"

    sent = _run(
        [NODE, str(typescript_client / "dist" / "src" / "send.js"), target, APP_ID],
        typescript_client,
        timeout=120,
    )

    assert sent.returncode == 0, f"send.js failed: {_output(sent)}"
    summary: dict[str, Any] = json.loads(sent.stdout)
    assert summary["ok"] is True and summary["failures"] == []
    flat = {"foo.bar.cheese": "american", "foo.bar.prop": "[1,2,3]"}
    traits = {"plan": "pro", "seats": 3, "company.name": "Acme"}
    assert summary["track"]["properties"] == flat
    assert summary["identify"]["user_properties"] == traits
    assert summary["stream"] == {
        "event": "Streamed",
        "sent": STREAM_EVENTS,
        "ok": STREAM_EVENTS,
        "not_ok": 0,
        "unanswered": 0,
    }

    events = tracked_events(simulator_url)
    run_id = summary["run_id"]
    [track] = [e for e in events if e["event"] == "Signed Up"]
    assert track["app_id"] == APP_ID
    assert track["identity"] == "u1"
    assert track["properties"] == flat
    assert track["idempotency_key"] == f"{run_id}-track"
    [identify] = user_property_updates(simulator_url)
    assert (identify["app_id"], identify["identity"]) == (APP_ID, "u1")
    assert identify["properties"] == traits
    streamed = [e for e in events if e["event"] == "Streamed"]
    assert len(events) == 1 + STREAM_EVENTS
    assert Counter(e["properties"]["n"] for e in streamed) == Counter(range(STREAM_EVENTS))
    assert {e["idempotency_key"] for e in streamed} == {
        f"{run_id}-{n}" for n in range(STREAM_EVENTS)
    }
    assert {(e["app_id"], e["identity"], e["properties"]["run"]) for e in streamed} == {
        (APP_ID, f"{run_id}-user-{n}", run_id) for n in range(100)
    }

    # A bad app id: every call and streamed event fails, and the client reads the reason.
    rejected = subprocess.run(
        [NODE, str(typescript_client / "dist" / "src" / "send.js"), target, "not-an-app-id"],
        cwd=typescript_client,
        env={**os.environ, "STREAM_EVENTS": "3"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert rejected.returncode == 1, _output(rejected)
    failures = json.loads(rejected.stdout)["failures"]
    assert sorted((f["call"], f["code"], f["error_reason"]) for f in failures) == sorted(
        [
            ("TrackEvent", 3, "INVALID_EVENT"),
            ("IdentifyUser", 3, "INVALID_EVENT"),
            *((f"StreamEvents event e{n}", 3, "INVALID_EVENT") for n in range(3)),
        ]
    )
    assert "error_reason INVALID_EVENT" in rejected.stderr
    assert len(tracked_events(simulator_url)) == 1 + STREAM_EVENTS


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_renaming_a_field_the_client_uses_breaks_its_build(
    typescript_client: Path, tmp_path: Path
) -> None:
    """send.ts compiled against code generated from a copy of protos/: as is, it builds;
    with TrackEventRequest.user_id renamed, tsc fails on the field."""

    def build_against(protos: Path, where: Path) -> subprocess.CompletedProcess[str]:
        (where / "src").mkdir(parents=True)
        shutil.copy(typescript_client / "src" / "send.ts", where / "src" / "send.ts")
        (where / "node_modules").symlink_to(typescript_client / "node_modules")
        tsconfig = {
            "extends": str(typescript_client / "tsconfig.json"),
            "compilerOptions": {"noEmit": True, "rootDir": "."},
            "include": ["src/**/*.ts", "gen/**/*.ts"],
        }
        (where / "tsconfig.json").write_text(json.dumps(tsconfig))
        _generate(typescript_client, protos, where / "gen")
        return _run([str(TSC), "-p", str(where / "tsconfig.json"), "--strict"], where)

    protos = tmp_path / "protos"
    shutil.copytree(REPO / "protos", protos)
    unchanged = build_against(protos, tmp_path / "unchanged")
    assert unchanged.returncode == 0, f"tsc failed on the unchanged copy: {_output(unchanged)}"

    track = protos / "heap_destination" / "v1" / "track.proto"
    text = track.read_text()
    request = text.index("message TrackEventRequest")
    old, new = "  string user_id = 2;", "  string user_identifier = 2;"
    field = text.index(old, request)
    assert field < text.index("message TrackEventResponse")
    track.write_text(text[:field] + new + text[field + len(old) :])

    renamed = build_against(protos, tmp_path / "renamed")
    assert renamed.returncode != 0, "tsc accepted a client using a renamed field"
    # Both the TrackEvent call and the streamed track name the field.
    assert renamed.stdout.count("'userId' does not exist") >= 2, _output(renamed)
    generated = tmp_path / "renamed" / "gen" / "heap_destination" / "v1" / "track_pb.ts"
    assert "userIdentifier: string;" in generated.read_text()
