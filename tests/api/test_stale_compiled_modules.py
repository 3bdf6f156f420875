"""The package refuses to import a compiled module whose source changed after it was
compiled (heap_destination/compiled_check.py), rather than run the old code."""

import hashlib
import shutil
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

import heap_destination
from heap_destination.compiled_check import (
    SOURCE_HASHES,
    StaleCompiledModule,
    refuse_stale_compiled_modules,
    stale_compiled_modules,
)

ROOT = Path(__file__).parents[2]
PACKAGE = Path(heap_destination.__file__).parent
SOURCE = "def clean(text: str) -> str:\n    return text\n"


def _package(folder: Path, *, compiled: bool = True, source: bool = True) -> Path:
    """A package with one module compiled from SOURCE, as the build leaves it."""
    package = folder / "heap_destination"
    (package / "domain").mkdir(parents=True)
    if source:
        (package / "domain" / "text.py").write_text(SOURCE)
    if compiled:
        (package / "domain" / f"text{EXTENSION_SUFFIXES[0]}").write_bytes(b"")
    digest = hashlib.sha256(SOURCE.encode()).hexdigest()
    (package / SOURCE_HASHES).write_text(f"{digest}  domain/text.py\n")
    return package


def test_a_module_compiled_from_the_source_beside_it_is_not_stale(tmp_path: Path) -> None:
    package = _package(tmp_path)

    assert stale_compiled_modules(str(package)) == []
    refuse_stale_compiled_modules(str(package))


def test_a_source_edited_after_compiling_is_refused_by_module_name(tmp_path: Path) -> None:
    package = _package(tmp_path)
    (package / "domain" / "text.py").write_text(SOURCE + "# edited\n")

    assert stale_compiled_modules(str(package)) == ["heap_destination.domain.text"]
    with pytest.raises(ImportError, match=r"heap_destination\.domain\.text.*`make setup`"):
        refuse_stale_compiled_modules(str(package))


def test_a_wrong_hash_is_refused(tmp_path: Path) -> None:
    package = _package(tmp_path)
    (package / SOURCE_HASHES).write_text(f"{'0' * 64}  domain/text.py\n")

    with pytest.raises(StaleCompiledModule, match=r"heap_destination\.domain\.text"):
        refuse_stale_compiled_modules(str(package))


def test_a_module_without_its_compiled_file_or_its_source_has_nothing_to_compare(
    tmp_path: Path,
) -> None:
    pure_python = _package(tmp_path / "pure", compiled=False)
    (pure_python / "domain" / "text.py").write_text(SOURCE + "# edited\n")
    without_sources = _package(tmp_path / "without", source=False)

    assert stale_compiled_modules(str(pure_python)) == []
    assert stale_compiled_modules(str(without_sources)) == []


def test_a_package_built_without_compiling_has_nothing_to_check(tmp_path: Path) -> None:
    package = tmp_path / "heap_destination"
    package.mkdir()

    assert stale_compiled_modules(str(package)) == []


def _import_in_a_copy_of_the_built_package(tmp_path: Path, *, edit: str | None = None) -> str:
    """Imports heap_destination.domain.text from a copy of this checkout's package (with
    its compiled modules), after appending `edit` to that module's source; its stderr."""
    if not (PACKAGE / SOURCE_HASHES).exists():
        pytest.skip("the package here is not compiled (no C compiler, or not built)")
    shutil.copytree(PACKAGE, tmp_path / "heap_destination")
    for shared_library in PACKAGE.parent.glob("heap_destination__mypyc*"):
        shutil.copy2(shared_library, tmp_path)
    if edit is not None:
        with (tmp_path / "heap_destination" / "domain" / "text.py").open("a") as source:
            source.write(edit)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import heap_destination.domain.text as module; print(module.__file__)",
        ],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.stdout + done.stderr


def test_the_built_package_refuses_a_compiled_module_whose_source_was_edited(
    tmp_path: Path,
) -> None:
    answer = _import_in_a_copy_of_the_built_package(tmp_path, edit="# edited\n")

    assert "StaleCompiledModule: heap_destination.domain.text: compiled from" in answer
    assert "`make setup`" in answer


def test_the_built_package_imports_its_compiled_modules(tmp_path: Path) -> None:
    answer = _import_in_a_copy_of_the_built_package(tmp_path)

    assert answer.strip() == str(
        tmp_path / "heap_destination" / "domain" / f"text{EXTENSION_SUFFIXES[0]}"
    )


def test_the_build_hashes_every_module_of_the_compiled_list() -> None:
    if not (PACKAGE / SOURCE_HASHES).exists():
        pytest.skip("the package here is not compiled (no C compiler, or not built)")
    hashed = [line.split("  ")[1] for line in (PACKAGE / SOURCE_HASHES).read_text().splitlines()]
    listed = (ROOT / "compiled-modules.txt").read_text().split()

    assert [f"service/heap_destination/{name}" for name in hashed] == listed
