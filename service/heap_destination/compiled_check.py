"""Refuses a compiled module built from another version of its source.

Python imports a compiled module (`.so`) rather than the `.py` file beside it, so after
an edit it would run the old code without a word. The build (setup.py) writes the SHA-256
of each compiled module's source to compiled_sources.sha256, beside them; at import the
package compares it with the source that is there now. A module without its compiled file
or its source beside it (a pure-Python install, a package shipped without sources) has
nothing to compare.

It runs once per process, as the package is imported: it uses os.path rather than pathlib,
whose import alone costs more than the check.
"""

import hashlib
import os
from importlib.machinery import EXTENSION_SUFFIXES

SOURCE_HASHES = "compiled_sources.sha256"


class StaleCompiledModule(ImportError):
    """A compiled module whose source has changed since it was compiled."""


def stale_compiled_modules(package: str) -> list[str]:
    """The compiled modules in the folder `package` whose source beside them is not the
    one they were compiled from, by module name."""
    try:
        with open(os.path.join(package, SOURCE_HASHES), encoding="utf-8") as listed:
            lines = listed.read().splitlines()
    except FileNotFoundError:
        return []
    stale = []
    for line in lines:
        digest, _, source_name = line.partition("  ")
        source = os.path.join(package, source_name)
        if not _compiled_beside(source):
            continue
        try:
            with open(source, "rb") as text:
                current = hashlib.sha256(text.read()).hexdigest()
        except FileNotFoundError:
            continue
        if current != digest:
            module = source_name.removesuffix(".py").replace("/", ".")
            stale.append(f"{os.path.basename(package)}.{module}")
    return stale


def refuse_stale_compiled_modules(package: str) -> None:
    if stale := stale_compiled_modules(package):
        raise StaleCompiledModule(
            f"{', '.join(stale)}: compiled from another version of the source beside it, "
            "so Python would run the old code; compile again with `make setup` (or "
            "reinstall the package)"
        )


def _compiled_beside(source: str) -> bool:
    stem = source.removesuffix(".py")
    return any(os.path.exists(stem + suffix) for suffix in EXTENSION_SUFFIXES)
