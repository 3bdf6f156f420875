"""The Java client (clients/java), generated from protos/ and compiled, against a real service.

clients/java/build.sh generates the Java code with protoc and grpc_java_plugin and compiles
the program with plain javac against Debian's jars; the program sends Heap's flattening
example as a nested track, an identify and a 1,000-event stream, and this test checks what
the simulator received. Without the toolchain (`make client-deps`) it skips.
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
BUILD = REPO / "clients" / "java" / "build.sh"
GRPC_JAVA_PLUGIN = Path("/usr/bin/grpc_java_plugin")
MAIN_CLASS = "com.example.heapdestination.client.Main"
APP_ID = "1234567890"
EVENTS = 1000
HINT = "run `make client-deps` (clients/install-toolchains.sh) as root to install it"


def _missing_toolchain() -> str | None:
    """Why the Java client cannot be built here, or None."""
    missing = [tool for tool in ("java", "javac", "protoc") if shutil.which(tool) is None]
    if not GRPC_JAVA_PLUGIN.is_file():
        missing.append(str(GRPC_JAVA_PLUGIN))
    return f"{', '.join(missing)} not found" if missing else None


def _build(out: Path, protos: Path = REPO / "protos") -> subprocess.CompletedProcess[str]:
    built = subprocess.run(
        [str(BUILD), str(out), str(protos)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    if built.returncode == 127:  # build.sh: a tool or jar is missing
        reason = f"Java client toolchain incomplete: {built.stdout.strip()}; {HINT}"
        print(reason)
        pytest.skip(reason)
    return built


@pytest.fixture(scope="module")
def java_client(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The command that runs the Java client, generated from protos/ and compiled; skips
    without a toolchain."""
    missing = _missing_toolchain()
    if missing:
        reason = f"Java client toolchain missing: {missing}; {HINT}"
        print(reason)
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("java-client")
    built = _build(out)
    assert built.returncode == 0, f"clients/java/build.sh failed:\n{built.stdout}"
    java = shutil.which("java")
    assert java is not None
    return [java, "-cp", (out / "classpath").read_text().strip(), MAIN_CLASS]


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
def test_java_client_against_the_service(
    java_client: list[str], service_and_simulator: tuple[str, str]
) -> None:
    target, simulator_url = service_and_simulator
    run_id = f"java-{uuid.uuid4().hex[:12]}"
    run = subprocess.run(
        [
            *java_client,
            "--target",
            target,
            "--app-id",
            APP_ID,
            "--run-id",
            run_id,
            "--events",
            str(EVENTS),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, f"Java client exited {run.returncode}:\n{run.stdout}{run.stderr}"
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
    assert sample["event"] == "Java Stream Event"
    assert sample["identity"] == f"{run_id}-user-7"
    assert sample["properties"] == {"seq": 7, "run": run_id}


@pytest.mark.timeout(300)
def test_renaming_a_field_the_java_client_uses_breaks_its_build(
    java_client: list[str], tmp_path: Path
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
    assert "setUserId" in built.stdout, built.stdout
