"""`buf breaking`, as `make test` runs it, catches a changed field number."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUF = Path(sys.executable).with_name("buf")

if not BUF.exists():
    pytest.skip(f"buf is not installed at {BUF} (make setup installs it)", allow_module_level=True)


def _breaking(changed: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BUF), "breaking", str(changed), "--against", str(REPO / "protos")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=changed.parent,
    )


def _copy_of_protos(tmp_path: Path) -> Path:
    copy = tmp_path / "protos"
    shutil.copytree(REPO / "protos", copy)
    return copy


def test_the_contract_unchanged_passes(tmp_path: Path) -> None:
    assert _breaking(_copy_of_protos(tmp_path)).returncode == 0


def test_a_changed_field_number_fails(tmp_path: Path) -> None:
    protos = _copy_of_protos(tmp_path)
    track = protos / "heap_destination" / "v1" / "track.proto"
    track.write_text(track.read_text().replace("string user_id = 2;", "string user_id = 12;"))

    checked = _breaking(protos)

    assert checked.returncode != 0
    assert 'field "2" with name "user_id"' in checked.stdout + checked.stderr


def test_a_renamed_field_fails(tmp_path: Path) -> None:
    protos = _copy_of_protos(tmp_path)
    track = protos / "heap_destination" / "v1" / "track.proto"
    track.write_text(track.read_text().replace("string user_id = 2;", "string user = 2;"))

    assert _breaking(protos).returncode != 0
