"""The Go client (clients/go), generated from protos/ and built, against a real service.

clients/go/build.sh generates the Go code with protoc-gen-go and protoc-gen-go-grpc and
builds the program in GOPATH mode against Debian's Go libraries; the program sends Heap's
flattening example as a nested track, an identify and a 1,000-event stream, and this test
checks what the simulator received. Without the toolchain (`make client-deps`) it skips.
"""

import json
import re
import shutil
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import Process, free_address, start_service, start_simulator
from tests.support.simulator_api import tracked_events, user_property_updates
from tests.support.wait import wait_until

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "clients" / "go" / "build.sh"
GOCODE = Path("/usr/share/gocode/src")
APP_ID = "1234567890"
EVENTS = 1000
HINT = "run `make client-deps` (clients/install-toolchains.sh) as root to install it"


def _missing_toolchain() -> str | None:
    """Why the Go client cannot be built here, or None."""
    tools = ["go", "protoc", "protoc-gen-go", "protoc-gen-go-grpc"]
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        return f"{', '.join(missing)} not on PATH"
    libraries = [
        "google.golang.org/grpc",
        "google.golang.org/protobuf",
        "github.com/golang/protobuf",
    ]
    absent = [library for library in libraries if not (GOCODE / library).is_dir()]
    if absent:
        return f"Go libraries {', '.join(absent)} not in {GOCODE}"
    if (GOCODE / "github.com/golang/protobuf/proto/table_marshal.go").exists():
        return "github.com/golang/protobuf is 1.3 (it panics at the first call): needs 1.5"
    return None


def _build(out: Path, protos: Path = REPO / "protos") -> subprocess.CompletedProcess[str]:
    built = subprocess.run(
        [str(BUILD), str(out), str(protos)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    if built.returncode == 127:  # build.sh: a tool or library is missing
        reason = f"Go client toolchain incomplete: {built.stdout.strip()}; {HINT}"
        print(reason)
        pytest.skip(reason)
    return built


@pytest.fixture(scope="module")
def go_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Go client program, generated from protos/ and built; skips without a toolchain."""
    missing = _missing_toolchain()
    if missing:
        reason = f"Go client toolchain missing: {missing}; {HINT}"
        print(reason)
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("go-client")
    built = _build(out)
    assert built.returncode == 0, f"clients/go/build.sh failed:\n{built.stdout}"
    binary = out / "heapdestination-go-client"
    assert binary.is_file(), built.stdout
    return binary


@pytest.fixture
def service_and_simulator() -> Iterator[tuple[str, str]]:
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


@pytest.mark.timeout(300)
def test_go_client_against_the_service(
    go_client: Path, service_and_simulator: tuple[str, str]
) -> None:
    target, simulator_url = service_and_simulator
    run_id = f"go-{uuid.uuid4().hex[:12]}"
    run = subprocess.run(
        [
            str(go_client),
            "-target",
            target,
            "-app-id",
            APP_ID,
            "-run-id",
            run_id,
            "-events",
            str(EVENTS),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, f"Go client exited {run.returncode}:\n{run.stdout}{run.stderr}"
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
    tracks = [event for event in events if event["event"] == "Signed Up"]
    assert len(tracks) == 1, tracks
    assert tracks[0]["app_id"] == APP_ID
    assert tracks[0]["identity"] == "u1"
    assert tracks[0]["properties"] == {"foo.bar.cheese": "american", "foo.bar.prop": "[1,2,3]"}

    users = [user for user in user_property_updates(simulator_url) if user["identity"] == "u1"]
    assert users == [
        {
            "app_id": APP_ID,
            "identity": "u1",
            "properties": {"email": "u1@example.com", "plan": "pro", "seats": 3},
        }
    ]

    counts = Counter(streamed())
    assert set(counts) == {f"{run_id}-{i}" for i in range(EVENTS)}
    assert [key for key, count in counts.items() if count != 1] == []
    by_key = {event["idempotency_key"]: event for event in events if "idempotency_key" in event}
    sample = by_key[f"{run_id}-7"]
    assert sample["event"] == "Go Stream Event"
    assert sample["identity"] == f"{run_id}-user-7"
    assert sample["properties"] == {"seq": 7, "run": run_id}


@pytest.mark.timeout(300)
def test_renaming_a_field_the_go_client_uses_breaks_its_build(
    go_client: Path, tmp_path: Path
) -> None:
    protos = tmp_path / "protos"
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

    built = _build(tmp_path / "out", protos)

    assert built.returncode != 0, f"the build succeeded after the rename:\n{built.stdout}"
    assert "UserId" in built.stdout, built.stdout
