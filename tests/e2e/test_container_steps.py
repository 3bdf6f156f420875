"""The container image's steps without docker (this machine has no daemon): the files the
Dockerfile's build stage copies, built into a wheel with its own command, installed alone
(with the image's postgresql extra) into a fresh virtual environment; then the image's CMD
run with the image's ENV and a tokens file serves, and its HEALTHCHECK command exits 0
within the HEALTHCHECK's --timeout. Without tokens the CMD says so in one line and exits 2.

The test reads the ENV, COPY, ENTRYPOINT, CMD and HEALTHCHECK lines from the Dockerfile, so
it follows the file. One substitution: the ENV's fixed ports become free ones (the host
stays 0.0.0.0), and the health check gets HEAP_DESTINATION_TARGET for the new port.
"""

import fcntl
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.commands import run_checked
from tests.support.processes import Process, free_address

ROOT = Path(__file__).parents[2]
GENERATED = "service/heap_destination/v1/"
BUILD_TIMEOUT = 600
TOKEN = "container-test-token-0123456789"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(BUILD_TIMEOUT + 180)]


@dataclass(frozen=True)
class Image:
    copied: list[str]  # what the build stage copies from the checkout
    env: dict[str, str]
    command: list[str]  # ENTRYPOINT + CMD
    health_command: list[str]
    health_timeout: float


def read_dockerfile(path: Path) -> Image:
    """A tiny Dockerfile reader: continuation lines joined, comments dropped; COPY lines of
    the checkout (no --from), and ENV, ENTRYPOINT, CMD, HEALTHCHECK of the last stage."""
    text = re.sub(
        r"\\\n",
        " ",
        "\n".join(
            line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")
        ),
    )
    copied: list[str] = []
    env: dict[str, str] = {}
    entrypoint: list[str] = []
    cmd: list[str] = []
    health: tuple[list[str], float] | None = None
    for line in text.splitlines():
        instruction, _, rest = line.strip().partition(" ")
        match instruction.upper():
            case "FROM":
                env, entrypoint, cmd, health = {}, [], [], None
            case "COPY" if "--from" not in rest:
                copied += shlex.split(rest)[:-1]
            case "ENV":
                env.update(word.split("=", 1) for word in shlex.split(rest))
            case "ENTRYPOINT":
                entrypoint = json.loads(rest)
            case "CMD":
                cmd = json.loads(rest)
            case "HEALTHCHECK":
                options, _, probe = rest.partition(" CMD ")
                timeout = re.search(r"--timeout=(\d+)s", options)
                assert timeout, f"HEALTHCHECK without --timeout=Ns: {rest}"
                health = (json.loads(probe), float(timeout.group(1)))
    assert health is not None, "no HEALTHCHECK in the last stage"
    return Image(copied, env, entrypoint + cmd, *health)


IMAGE = read_dockerfile(ROOT / "Dockerfile")


@pytest.fixture(scope="module")
def venv_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a fresh venv holding only the wheel built from the copied files
    (with the postgresql extra, as the image), built once per run under xdist."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if "PYTEST_XDIST_WORKER" in os.environ else base) / "container-steps"
    folder.mkdir(exist_ok=True)
    with (folder / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the first worker builds; the others wait for it
        if not (folder / "installed").exists():
            _build_and_install(folder)
            (folder / "installed").touch()
    return folder / "venv" / "bin"


def _build_and_install(folder: Path) -> None:
    shutil.rmtree(folder / "src", ignore_errors=True)
    shutil.rmtree(folder / "wheels", ignore_errors=True)
    source = folder / "src"
    source.mkdir()
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "--", *IMAGE.copied],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for name in listed:  # the checkout's files (with this work tree's changes), no generated code
        if not name.startswith(GENERATED) and (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    wheels = folder / "wheels"
    run_checked(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "-q",
        "--wheel-dir",
        wheels,
        ".",
        cwd=source,
        timeout=BUILD_TIMEOUT,
    )
    [wheel] = wheels.glob("heap_destination-*.whl")
    run_checked(sys.executable, "-m", "venv", "--clear", folder / "venv")
    pip = folder / "venv" / "bin" / "pip"
    run_checked(
        pip, "install", "-q", "--constraint", ROOT / "constraints.txt", f"{wheel}[postgresql]"
    )


def _image_env(venv_bin: Path, **changes: str) -> dict[str, str]:
    """The image's ENV, its ports made free ones, on a PATH that finds the venv's command."""
    env = {"PATH": f"{venv_bin}{os.pathsep}/usr/bin:/bin", **IMAGE.env, **changes}
    for name, value in IMAGE.env.items():
        if re.fullmatch(r"[\d.]+:\d+", value):
            env[name] = f"{value.rpartition(':')[0]}:{free_address().rpartition(':')[2]}"
    return env


def test_the_image_command_serves_with_a_tokens_file_and_its_health_check_passes(
    venv_bin: Path, tmp_path: Path
) -> None:
    tokens = tmp_path / "heap-destination-tokens.json"
    tokens.write_text(json.dumps([{"token": TOKEN, "name": "container test"}]))

    _serve_and_check_health(
        _image_env(venv_bin, HEAP_DESTINATION_TOKENS_FILE=str(tokens)), tmp_path
    )


def test_the_image_command_serves_with_tokens_in_the_environment_and_a_sqlite_store(
    venv_bin: Path, tmp_path: Path
) -> None:
    """docs/operations.md's other way: the JSON in HEAP_DESTINATION_TOKENS, and a SQLite
    store made in an empty folder (a new volume); readiness then also needs the store."""
    volume = tmp_path / "volume"
    volume.mkdir()
    env = _image_env(
        venv_bin,
        HEAP_DESTINATION_TOKENS=json.dumps([{"token": TOKEN}]),
        HEAP_STORE=f"sqlite:{volume}/heap-destination.db",
        HEAP_ACK_MODE="stored",
    )

    _serve_and_check_health(env, tmp_path)

    assert (volume / "heap-destination.db").stat().st_size > 0


def _serve_and_check_health(env: dict[str, str], cwd: Path) -> None:
    """Runs the image's command until it serves, then its HEALTHCHECK command once."""
    assert env["HEAP_DESTINATION_LISTEN"].startswith("0.0.0.0:")
    port = env["HEAP_DESTINATION_LISTEN"].rpartition(":")[2]
    service = Process(IMAGE.command, "service listening", env=env, cwd=cwd)
    try:
        health = subprocess.run(
            IMAGE.health_command,
            env={**env, "HEAP_DESTINATION_TARGET": f"127.0.0.1:{port}"},
            capture_output=True,
            text=True,
            timeout=IMAGE.health_timeout,
            check=False,
        )
    finally:
        service.stop()

    assert health.returncode == 0, health.stdout + health.stderr
    listening = next(json.loads(line) for line in service.lines if "service listening" in line)
    assert listening["authentication"] is True


def test_the_image_command_without_tokens_says_how_to_pass_them_in_one_line(
    venv_bin: Path, tmp_path: Path
) -> None:
    finished = subprocess.run(
        IMAGE.command,
        env=_image_env(venv_bin),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert finished.returncode == 2
    assert finished.stdout == ""
    [line] = finished.stderr.splitlines()
    assert "HEAP_DESTINATION_TOKENS_FILE" in line
    assert re.search(r"HEAP_DESTINATION_TOKENS\b", line)


def test_the_package_built_from_the_copied_files_carries_its_license(venv_bin: Path) -> None:
    [dist_info] = venv_bin.parent.glob("lib/python*/site-packages/heap_destination-*.dist-info")

    assert (dist_info / "licenses" / "LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes()
