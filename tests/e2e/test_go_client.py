"""The Go client (clients/go), generated from protos/ and built, against a real service.

clients/go/build.sh generates the Go code with protoc-gen-go and protoc-gen-go-grpc and
builds the program in GOPATH mode against Debian's Go libraries; the program sends Heap's
flattening example as a nested track, an identify and a 1,000-event stream, and this test
checks what the simulator received. Without the toolchain (`make client-deps`) it skips.
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

BUILD = REPO / "clients" / "go" / "build.sh"
GOCODE = Path("/usr/share/gocode/src")


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


@pytest.fixture(scope="module")
def go_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Go client program, generated from protos/ and built; skips without a toolchain."""
    missing = _missing_toolchain()
    if missing:
        skip("Go", f"missing: {missing}")
    out = tmp_path_factory.mktemp("go-client")
    built = build("Go", BUILD, out)
    assert built.returncode == 0, f"clients/go/build.sh failed:\n{built.stdout}"
    binary = out / "heapdestination-go-client"
    assert binary.is_file(), built.stdout
    return binary


@pytest.mark.timeout(300)
def test_go_client_against_the_service(go_client: Path) -> None:
    run_and_check("Go", [str(go_client)], "-")


@pytest.mark.timeout(300)
def test_renaming_a_field_the_go_client_uses_breaks_its_build(
    go_client: Path, tmp_path: Path
) -> None:
    built = build("Go", BUILD, tmp_path / "out", protos_with_user_id_renamed(tmp_path))

    assert built.returncode != 0, f"the build succeeded after the rename:\n{built.stdout}"
    assert "UserId" in built.stdout, built.stdout
