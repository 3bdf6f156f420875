"""The Node.js client (clients/node) against a real service and simulator, via `node --test`."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.client_programs import npm_installed

REPO = Path(__file__).resolve().parents[2]
NODE_CLIENT = REPO / "clients" / "node"
NODE, NPM = shutil.which("node"), shutil.which("npm")


@pytest.fixture
def node_client() -> Path:
    return npm_installed(NODE_CLIENT, "Node.js client")


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
