"""The package as a user installs it: a wheel built from a clean checkout, in a fresh
virtual environment without the postgresql extra, serving a TrackEvent to the simulator
and naming the extra when a PostgreSQL store is asked for; built with the per-event
code compiled (where a C compiler works) and as pure Python (HEAP_DESTINATION_COMPILE=0,
as without a C compiler)."""

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tarfile
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from tests.support.c_compiler import c_compiler_missing
from tests.support.commands import run_checked
from tests.support.processes import Process, free_address
from tests.support.simulator_api import tracked_events

ROOT = Path(__file__).parents[2]
GENERATED = "service/heap_destination/v1/"
BUILD_TIMEOUT = 600


def _clean_checkout(checkout: Path) -> Path:
    """The files a clean checkout has (with this work tree's changes), and no generated
    code."""
    listed = run_checked("git", "ls-files", "-co", "--exclude-standard", cwd=ROOT).splitlines()
    for name in listed:
        if not name.startswith(GENERATED) and (ROOT / name).is_file():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, checkout / name)
    assert not (checkout / GENERATED).exists()
    return checkout


# Building the compiled wheel takes minutes on a 2-core machine: each wheel is built once
# per run, in the setup of the first test that needs it, shared by every xdist worker.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(BUILD_TIMEOUT + 120)]


@pytest.fixture(scope="session")
def wheel_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every xdist worker of this run shares (the run's own under plain pytest)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if "PYTEST_XDIST_WORKER" in os.environ else base


@pytest.fixture(scope="module", params=["compiled", "pure Python"])
def installed(request: pytest.FixtureRequest, wheel_folder: Path) -> tuple[Path, bool]:
    """The `heap-destination` command of a fresh venv with only the built wheel in it, and
    whether its per-event code is compiled."""
    compiled = request.param == "compiled"
    if compiled and (missing := c_compiler_missing()) is not None:
        pytest.skip(missing)
    folder = wheel_folder / ("wheel-compiled" if compiled else "wheel-pure")
    folder.mkdir(exist_ok=True)
    with (folder / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the first worker builds; the others wait for it
        if not (folder / "installed").exists():
            _build_and_install(folder, compiled)
            (folder / "installed").touch()
    return folder / "venv" / "bin" / "heap-destination", compiled


def _build_and_install(folder: Path, compiled: bool) -> None:
    shutil.rmtree(folder / "checkout", ignore_errors=True)
    shutil.rmtree(folder / "dist", ignore_errors=True)
    checkout = _clean_checkout(folder / "checkout")
    env = {**os.environ, "HEAP_DESTINATION_COMPILE": "1" if compiled else "0"}
    wheel_command = ("-m", "pip", "wheel", "--no-deps", "-q", "-w", folder / "dist", checkout)
    run_checked(sys.executable, *wheel_command, env=env, timeout=BUILD_TIMEOUT)
    [wheel] = (folder / "dist").glob("heap_destination-*.whl")
    venv = folder / "venv"
    run_checked(sys.executable, "-m", "venv", "--clear", venv)
    run_checked(venv / "bin" / "pip", "install", "-q", "-c", ROOT / "constraints.txt", wheel)


def test_the_installed_command_starts(installed: tuple[Path, bool]) -> None:
    command, _ = installed
    assert "serve" in run_checked(command, "--help")


def test_the_installed_service_delivers_a_track_to_the_simulator(
    installed: tuple[Path, bool],
) -> None:
    command, compiled = installed
    simulator_address = free_address()
    simulator = Process(
        [str(command), "simulate", "--listen", simulator_address], "Heap simulator listening"
    )
    simulator_url = f"http://{simulator_address}"
    service = Process(
        [
            str(command),
            "serve",
            "--listen",
            free_address(),
            "--base-url",
            simulator_url,
            "--metrics-listen",
            "off",
        ],
        "service listening",
    )
    try:
        answer = run_checked(
            command,
            "send",
            "track",
            "--target",
            service.address(),
            "--app-id",
            "1234567890",
            "--user-id",
            "u1",
            "--event",
            "Signed Up",
            "--properties",
            '{"foo": {"bar": "baz"}}',
        )
        delivered = tracked_events(simulator_url)
    finally:
        service.stop()
        simulator.stop()

    listening = next(json.loads(line) for line in service.lines if "service listening" in line)
    assert listening["compiled"] is compiled
    assert json.loads(answer)["properties"] == {"foo.bar": "baz"}
    assert [(e["identity"], e["event"], e["properties"]) for e in delivered] == [
        ("u1", "Signed Up", {"foo.bar": "baz"})
    ]


def test_the_installed_package_holds_the_hashes_of_its_compiled_sources(
    installed: tuple[Path, bool],
) -> None:
    """What the package checks at import: each compiled module's source is beside it, with
    the hash of the source it was compiled from (heap_destination/compiled_check.py)."""
    command, compiled = installed
    [package] = command.parents[1].glob("lib/python*/site-packages/heap_destination")
    hashes = package / "compiled_sources.sha256"
    if not compiled:
        assert not hashes.exists()
        assert list(package.rglob("*.so")) == []
        return
    hashed = [line.split("  ")[1] for line in hashes.read_text().splitlines()]
    assert [f"service/heap_destination/{name}" for name in hashed] == _compiled_list()
    for name in hashed:
        assert (package / name).is_file()
        assert (package / name).with_suffix(EXTENSION_SUFFIXES[0]).is_file()


def test_the_installed_package_carries_its_license(installed: tuple[Path, bool]) -> None:
    command, _ = installed
    [dist_info] = command.parents[1].glob("lib/python*/site-packages/heap_destination-*.dist-info")

    assert (dist_info / "licenses" / "LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes()
    assert "License-Expression: Apache-2.0" in (dist_info / "METADATA").read_text()


def test_the_source_distribution_holds_the_compiled_list_and_the_license(tmp_path: Path) -> None:
    """setup.py reads compiled-modules.txt to build from an sdist too."""
    checkout = _clean_checkout(tmp_path / "checkout")
    env = {**os.environ, "HEAP_DESTINATION_COMPILE": "0"}
    build = "from setuptools import build_meta; print(build_meta.build_sdist(sys.argv[1]))"
    name = run_checked(
        sys.executable, "-c", f"import sys; {build}", tmp_path, cwd=checkout, env=env
    ).splitlines()[-1]

    with tarfile.open(tmp_path / name) as sdist:
        listed = sdist.extractfile(f"{name.removesuffix('.tar.gz')}/compiled-modules.txt")
        assert listed is not None
        assert listed.read().decode().split() == _compiled_list()
        license_text = sdist.extractfile(f"{name.removesuffix('.tar.gz')}/LICENSE")
        assert license_text is not None
        assert license_text.read() == (ROOT / "LICENSE").read_bytes()


def _compiled_list() -> list[str]:
    return (ROOT / "compiled-modules.txt").read_text().split()


def test_the_installed_service_without_the_postgresql_extra_names_it_for_a_postgresql_store(
    installed: tuple[Path, bool],
) -> None:
    command, _ = installed
    store = "postgresql://nobody@127.0.0.1:1/none"

    finished = subprocess.run(
        [str(command), "store", "migrate", "--store", store],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert finished.returncode == 2, finished.stderr
    assert "pip install 'heap-destination[postgresql]'" in finished.stderr
