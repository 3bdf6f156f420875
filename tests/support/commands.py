"""A command the tests run to completion (a build, an install), failing the test with its
output when it fails."""

import subprocess
from pathlib import Path


def run_checked(
    *args: str | Path,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> str:
    """The command's standard output; fails the test, showing both outputs, unless it
    exits 0."""
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{args[:3]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout
