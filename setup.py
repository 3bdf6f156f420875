"""Builds the package with the Python code generated from protos/, and compiles the
per-event code to C where a C compiler is at hand.

The generated modules are not committed: every build (`pip install .`, `pip wheel .`,
the editable install `make setup` does) runs protoc first, as `make gen` does, so an
installed package always matches the contract it was built from. grpcio-tools carries
protoc; mypy-protobuf writes the typed stubs (.pyi). Both are build requirements.

compiled-modules.txt lists the modules that every event goes through, one path a line:
the domain (validating and flattening), the reading of a request's protobuf Struct from
its wire bytes, the mapping of a TrackEvent (and of a Segment item) to the domain, and
Heap's request bodies.
(Nothing that imports the store: type-checking it would need the PostgreSQL driver in the
build's environment. Nor domain/destination.py, whose frozen settings are pickled for
--workers: compiled frozen dataclasses do not unpickle.) The Makefile reads the same
list. mypyc (part of mypy, a build requirement) compiles them to C extensions from the
same type-annotated Python, which makes them two to three times faster. Without a working
C compiler, or with HEAP_DESTINATION_COMPILE=0, they stay pure Python: the same
behaviour, more CPU per event (the service logs which at start-up). An editable install
compiles them next to their sources: `make setup` compiles them again whenever one
changes.

Beside the compiled modules, the build writes the SHA-256 of each one's source to
heap_destination/compiled_sources.sha256 (the format of `sha256sum`): the package refuses
to import a compiled module whose source beside it has changed since
(heap_destination/compiled_check.py).
"""

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CCompilerError

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


PACKAGE = ROOT / "service" / "heap_destination"
COMPILED = (ROOT / "compiled-modules.txt").read_text().split()
SOURCE_HASHES = "compiled_sources.sha256"


def source_hashes() -> str:
    """The SHA-256 of each compiled module's source, as `sha256sum` writes them, with the
    paths relative to the package."""
    return "".join(
        f"{hashlib.sha256((ROOT / path).read_bytes()).hexdigest()}  "
        f"{(ROOT / path).relative_to(PACKAGE).as_posix()}\n"
        for path in COMPILED
    )


def compiled_extensions() -> list[Extension]:
    if os.environ.get("HEAP_DESTINATION_COMPILE", "1") == "0":
        return []
    from mypyc.build import mypycify

    return mypycify(COMPILED, opt_level="3", group_name="heap_destination")


class BuildExtIfCompiler(build_ext):
    """Builds the compiled modules, or none of them when no C compiler works here: a
    module half compiled would not import."""

    def run(self) -> None:
        self._compiled = False
        super().run()
        if self._compiled:
            self._write_source_hashes()

    def build_extensions(self) -> None:
        if self._compiler_works():
            super().build_extensions()
            self._compiled = True
        else:
            print(
                "heap-destination: no working C compiler, so the per-event modules stay "
                "pure Python (the same behaviour, more CPU per event)",
                file=sys.stderr,
            )

    def _compiler_works(self) -> bool:
        with tempfile.TemporaryDirectory() as scratch:
            probe = Path(scratch) / "probe.c"
            probe.write_text("#include <Python.h>\nint probe(void) { return 0; }\n")
            try:
                self.compiler.compile(
                    [str(probe)], output_dir=scratch, include_dirs=self.include_dirs
                )
            except (CCompilerError, OSError):
                return False
        return True

    def _write_source_hashes(self) -> None:
        """Beside the compiled modules: in the build's tree (the wheel's content) and, for
        an editable install or --inplace, next to the sources."""
        folders = [Path(self.build_lib) / PACKAGE.name]
        if self.inplace:
            build_py = self.get_finalized_command("build_py")
            folders.append(Path(build_py.get_package_dir(PACKAGE.name)))
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / SOURCE_HASHES).write_text(HASHES_OF_THE_COMPILED_SOURCES)


generate()
# Read before mypyc reads the sources: a source edited during the build then fails the
# check at import, rather than passing it with code compiled from its previous version.
HASHES_OF_THE_COMPILED_SOURCES = source_hashes()
setup(ext_modules=compiled_extensions(), cmdclass={"build_ext": BuildExtIfCompiler})
