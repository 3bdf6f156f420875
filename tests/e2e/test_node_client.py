"""The Node.js client (clients/node) against a real service and simulator, via `node --test`."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NODE_CLIENT = REPO / "clients" / "node"
NODE, NPM = shutil.which("node"), shutil.which("npm")


@pytest.fixture
def node_client() -> Path:
    """clients/node with its dependencies installed from package-lock.json."""
    missing = [name for name, found in (("node", NODE), ("npm", NPM)) if found is None]
    if missing:
        reason = f"{' and '.join(missing)} not on PATH: the Node.js client test needs Node 20+"
        print(reason)
        pytest.skip(reason)
    assert NPM is not None
    modules, lock = NODE_CLIENT / "node_modules", NODE_CLIENT / "package-lock.json"
    if not modules.is_dir() or modules.stat().st_mtime < lock.stat().st_mtime:
        installed = subprocess.run(
            [NPM, "ci", "--no-audit", "--no-fund"],
            cwd=NODE_CLIENT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert installed.returncode == 0, f"npm ci failed:\n{installed.stdout}{installed.stderr}"
    return NODE_CLIENT


@pytest.mark.timeout(600)
def test_node_client_against_the_service(
    node_client: Path, service_and_simulator: tuple[str, str]
) -> None:
    assert NODE is not None
    target, simulator_url = service_and_simulator
    try:
        run = subprocess.run(
            [NODE, "--test", str(node_client / "test") + os.sep],
            cwd=REPO,
            env={**os.environ, "SERVICE_TARGET": target, "SIMULATOR_URL": simulator_url},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
        )
    except subprocess.TimeoutExpired as timeout:
        output = timeout.stdout if isinstance(timeout.stdout, str) else ""
        pytest.fail(f"node --test did not finish in 300 s:\n{output}")
    assert run.returncode == 0, f"node --test exited {run.returncode}:\n{run.stdout}"
