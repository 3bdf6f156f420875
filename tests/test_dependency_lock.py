"""requirements.lock is up to date: it pins what pyproject.toml asks for, with hashes, and
constraints.txt holds the same pins. After a change to either, `make lock` writes both."""

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[1]
FIX = "run `make lock` to write requirements.lock and constraints.txt again"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", re.MULTILINE)


def pins(text: str) -> dict[str, str]:
    return {canonicalize_name(name): version for name, version in PIN.findall(text)}


def locked_text() -> str:
    return (ROOT / "requirements.lock").read_text(encoding="utf-8")


def declared() -> list[Requirement]:
    """The dependencies, the extras `make setup` installs, and the build requirements."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extras = project["project"]["optional-dependencies"]
    texts = [
        *project["project"]["dependencies"],
        *extras["dev"],
        *extras["postgresql"],
        *project["build-system"]["requires"],
    ]
    return [Requirement(text) for text in texts]


def test_the_lock_pins_every_declared_requirement_at_an_allowed_version() -> None:
    locked = pins(locked_text())

    unmet = [
        f"{requirement} (locked: {locked.get(canonicalize_name(requirement.name), 'none')})"
        for requirement in declared()
        if not requirement.specifier.contains(
            locked.get(canonicalize_name(requirement.name), "0.dev0"), prereleases=True
        )
    ]

    assert not unmet, f"requirements.lock does not satisfy pyproject.toml: {unmet}; {FIX}"


def test_every_locked_pin_has_hashes() -> None:
    entries = re.split(r"\n(?=[A-Za-z0-9])", locked_text())

    without_hashes = [entry.split()[0] for entry in entries[1:] if "--hash=sha256:" not in entry]

    assert not without_hashes, f"pinned without hashes: {without_hashes}; {FIX}"


def test_constraints_hold_the_locks_pins() -> None:
    constraints = pins((ROOT / "constraints.txt").read_text(encoding="utf-8"))

    assert constraints == pins(locked_text()), FIX
