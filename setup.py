"""Builds the package with the Python code generated from protos/.

The generated modules are not committed: every build (`pip install .`, `pip wheel .`,
the editable install `make setup` does) runs protoc first, as `make gen` does, so an
installed package always matches the contract it was built from. grpcio-tools carries
protoc; mypy-protobuf writes the typed stubs (.pyi). Both are build requirements.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).parent
PROTOS = sorted((ROOT / "protos" / "heap_destination" / "v1").glob("*.proto"))
GENERATED = ROOT / "service" / "heap_destination" / "v1"


def _plugin(folder: Path, name: str, entry_point: str) -> str:
    """A protoc plugin that runs mypy-protobuf with this interpreter: its console
    scripts are not on PATH in every build environment."""
    script = folder / name
    script.write_text(
        f"#!{sys.executable}\nfrom mypy_protobuf.main import {entry_point}\n{entry_point}()\n"
    )
    script.chmod(0o755)
    return f"--plugin={name}={script}"


def generate() -> None:
    if not PROTOS:  # an sdist's build of itself: the code was generated already
        return
    with tempfile.TemporaryDirectory() as plugins:
        folder = Path(plugins)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "grpc_tools.protoc",
                "-I",
                "protos",
                "--python_out=service",
                "--grpc_python_out=service",
                _plugin(folder, "protoc-gen-mypy", "main"),
                _plugin(folder, "protoc-gen-mypy_grpc", "grpc"),
                "--mypy_out=service",
                "--mypy_grpc_out=service",
                *(str(p.relative_to(ROOT / "protos")) for p in PROTOS),
            ],
            cwd=ROOT,
            check=True,
        )
    (GENERATED / "__init__.py").touch()


generate()
setup()
