"""What the tests of the generated clients' programs (Go, Java) share: building one from
protos/ or skipping with the reason, a live service and simulator, running the program,
and what the simulator must then hold."""

import json
import re
import shutil
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest

from tests.support.processes import Process, free_address, start_service, start_simulator
from tests.support.simulator_api import tracked_events, user_property_updates
from tests.support.wait import wait_until

REPO = Path(__file__).resolve().parents[2]
APP_ID = "1234567890"
EVENTS = 1000
HINT = "run `make client-deps` (clients/install-toolchains.sh) as root to install it"


def skip(language: str, why: str) -> NoReturn:
    reason = f"{language} client toolchain {why}; {HINT}"
    print(reason)
    pytest.skip(reason)


def build(
    language: str, script: Path, out: Path, protos: Path = REPO / "protos"
) -> subprocess.CompletedProcess[str]:
    """Runs the client's build.sh (generate, then compile) into `out`; skips when it
    reports a missing tool or library (exit 127)."""
    built = subprocess.run(
        [str(script), str(out), str(protos)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    if built.returncode == 127:
        skip(language, f"incomplete: {built.stdout.strip()}")
    return built


def protos_with_user_id_renamed(folder: Path) -> Path:
    """A copy of protos/ in which TrackEventRequest.user_id is called user_identifier."""
    protos = folder / "protos"
    shutil.copytree(REPO / "protos", protos)
    track = protos / "heap_destination" / "v1" / "track.proto"
    source = track.read_text()
    renamed = re.sub(
        r"(message TrackEventRequest \{.*?)\bstring user_id = (\d+);",
        r"\1string user_identifier = \2;",
        source,
        count=1,
        flags=re.DOTALL,
    )
    assert renamed != source, "TrackEventRequest.user_id not found in track.proto"
    track.write_text(renamed)
    return protos


@contextmanager
def service_and_simulator() -> Iterator[tuple[str, str]]:
    """A service process delivering to a simulator process: (target, simulator URL)."""
    simulator = start_simulator(free_address())
    service: Process | None = None
    try:
        simulator_url = f"http://{simulator.address('simulator')}"
        service = start_service(free_address(), simulator_url)
        yield service.address(), simulator_url
    finally:
        if service is not None:
            service.stop()
        simulator.stop()


def run_and_check(language: str, command: list[str], flag: str) -> None:
    """Runs the program (`flag` is how its options start: "-" or "--") against a live
    service, then checks what the simulator received: the nested track flattened, the
    identify's user properties, and each of the stream's events once."""
    run_id = f"{language.lower()}-{uuid.uuid4().hex[:12]}"
    with service_and_simulator() as (target, simulator_url):
        options = {"target": target, "app-id": APP_ID, "run-id": run_id, "events": str(EVENTS)}
        run = subprocess.run(
            [*command, *(part for k, v in options.items() for part in (f"{flag}{k}", v))],
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert run.returncode == 0, f"{language} client exited {run.returncode}:\n{run}"
        summary = json.loads(run.stdout)
        assert summary["ok"] is True
        assert summary["stream"] == {
            "sent": EVENTS,
            "results": EVENTS,
            "ok": EVENTS,
            "failed": 0,
            "seconds": summary["stream"]["seconds"],
        }

        def streamed() -> list[str]:
            return [
                event["idempotency_key"]
                for event in tracked_events(simulator_url)
                if str(event.get("idempotency_key", "")).startswith(f"{run_id}-")
            ]

        wait_until(lambda: len(streamed()) >= EVENTS, timeout=30, interval=0.2)
        events = tracked_events(simulator_url)
        users = user_property_updates(simulator_url)
        counts = Counter(streamed())

    [track] = [event for event in events if event["event"] == "Signed Up"]
    assert (track["app_id"], track["identity"]) == (APP_ID, "u1")
    assert track["properties"] == {"foo.bar.cheese": "american", "foo.bar.prop": "[1,2,3]"}
    assert [user for user in users if user["identity"] == "u1"] == [
        {
            "app_id": APP_ID,
            "identity": "u1",
            "properties": {"email": "u1@example.com", "plan": "pro", "seats": 3},
        }
    ]
    assert set(counts) == {f"{run_id}-{i}" for i in range(EVENTS)}
    assert [key for key, count in counts.items() if count != 1] == []
    by_key = {event["idempotency_key"]: event for event in events if "idempotency_key" in event}
    sample = by_key[f"{run_id}-7"]
    assert sample["event"] == f"{language} Stream Event"
    assert sample["identity"] == f"{run_id}-user-7"
    assert sample["properties"] == {"seq": 7, "run": run_id}


def npm_installed(client: Path, what: str) -> Path:
    """`client` (a folder with package.json) with its dependencies installed from its
    package-lock.json; skips with the reason when node or npm is missing."""
    npm = shutil.which("npm")
    missing = [name for name in ("node", "npm") if shutil.which(name) is None]
    if missing or npm is None:
        reason = f"{' and '.join(missing)} not on PATH: the {what} test needs Node 20+"
        print(reason)
        pytest.skip(reason)
    modules, lock = client / "node_modules", client / "package-lock.json"
    if not modules.is_dir() or modules.stat().st_mtime < lock.stat().st_mtime:
        installed = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=client,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert installed.returncode == 0, f"npm ci failed:\n{installed.stdout}{installed.stderr}"
    return client
