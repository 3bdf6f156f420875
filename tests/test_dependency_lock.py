"""requirements.lock is up to date: it pins what pyproject.toml asks for, with hashes;
requirements-pictures.lock pins the pictures extra the same way, agreeing with it; and
constraints.txt holds both locks' pins. After a change to any, `make lock` writes them."""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[1]
FIX = "run `make lock` to write requirements.lock and constraints.txt again"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", re.MULTILINE)


def pins(text: str) -> dict[str, str]:
    return {canonicalize_name(name): version for name, version in PIN.findall(text)}


def locked_text(name: str = "requirements.lock") -> str:
    return (ROOT / name).read_text(encoding="utf-8")


PICTURES_LOCK = "requirements-pictures.lock"


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


@pytest.mark.parametrize("lock", ["requirements.lock", PICTURES_LOCK])
def test_every_locked_pin_has_hashes(lock: str) -> None:
    entries = re.split(r"\n(?=[A-Za-z0-9])", locked_text(lock))

    without_hashes = [entry.split()[0] for entry in entries[1:] if "--hash=sha256:" not in entry]

    assert not without_hashes, f"pinned without hashes: {without_hashes}; {FIX}"


def test_the_pictures_lock_pins_the_extra_as_the_main_lock_pins_what_both_hold() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    main, pictures = pins(locked_text()), pins(locked_text(PICTURES_LOCK))

    extra = [Requirement(text) for text in project["project"]["optional-dependencies"]["pictures"]]
    unmet = [str(r) for r in extra if pictures.get(canonicalize_name(r.name)) not in r.specifier]
    differing = sorted(
        name for name in main.keys() & pictures.keys() if main[name] != pictures[name]
    )

    assert not unmet, f"{PICTURES_LOCK} does not satisfy the pictures extra: {unmet}; {FIX}"
    assert not differing, f"the two locks pin {differing} differently; {FIX}"


def test_constraints_hold_the_locks_pins() -> None:
    constraints = pins((ROOT / "constraints.txt").read_text(encoding="utf-8"))

    assert constraints == pins(locked_text()) | pins(locked_text(PICTURES_LOCK)), FIX
