"""The Java client (clients/java), generated from protos/ and compiled, against a real service.

clients/java/build.sh generates the Java code with protoc and grpc_java_plugin and compiles
the program with plain javac against Debian's jars; the program sends Heap's flattening
example as a nested track, an identify and a 1,000-event stream, and this test checks what
the simulator received. Without the toolchain (`make client-deps`) it skips.
"""

import shutil
from pathlib import Path

import pytest

from tests.support.client_programs import (
    REPO,
    build,
    protos_with_user_id_renamed,
    run_and_check,
    skip,
)

BUILD = REPO / "clients" / "java" / "build.sh"
GRPC_JAVA_PLUGIN = Path("/usr/bin/grpc_java_plugin")
MAIN_CLASS = "com.example.heapdestination.client.Main"


def _missing_toolchain() -> str | None:
    """Why the Java client cannot be built here, or None."""
    missing = [tool for tool in ("java", "javac", "protoc") if shutil.which(tool) is None]
    if not GRPC_JAVA_PLUGIN.is_file():
        missing.append(str(GRPC_JAVA_PLUGIN))
    return f"{', '.join(missing)} not found" if missing else None


@pytest.fixture(scope="module")
def java_client(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The command that runs the Java client, generated from protos/ and compiled; skips
    without a toolchain."""
    missing = _missing_toolchain()
    if missing:
        skip("Java", f"missing: {missing}")
    out = tmp_path_factory.mktemp("java-client")
    built = build("Java", BUILD, out)
    assert built.returncode == 0, f"clients/java/build.sh failed:\n{built.stdout}"
    java = shutil.which("java")
    assert java is not None
    return [java, "-cp", (out / "classpath").read_text().strip(), MAIN_CLASS]


@pytest.mark.timeout(300)
def test_java_client_against_the_service(java_client: list[str]) -> None:
    run_and_check("Java", java_client, "--")


@pytest.mark.timeout(300)
def test_renaming_a_field_the_java_client_uses_breaks_its_build(
    java_client: list[str], tmp_path: Path
) -> None:
    built = build("Java", BUILD, tmp_path / "out", protos_with_user_id_renamed(tmp_path))

    assert built.returncode != 0, f"the build succeeded after the rename:\n{built.stdout}"
    assert "setUserId" in built.stdout, built.stdout
