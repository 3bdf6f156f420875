"""Checks that every import in the package follows the layout (docs/layout.md): each room
imports only the rooms below it, and database drivers, gRPC and HTTP clients stay in the
rooms that use them.

    python -m heap_destination.app.layout_check [PACKAGE_FOLDER]

It reads each module's imports with ast, without importing anything, prints every import
that breaks a rule as `path:line: ...`, and exits 1 if there is one. `make lint` runs it.
"""

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).parents[1]

# The libraries that only some rooms may import, by what they are.
DRIVER = "a database driver"
GRPC = "gRPC or protobuf"
HTTP = "an HTTP client"
ASYNCIO = "asyncio"
GUARDED = {
    DRIVER: frozenset({"sqlite3", "psycopg", "psycopg_pool"}),
    GRPC: frozenset({"grpc", "grpc_status", "grpc_health", "grpc_reflection", "google"}),
    HTTP: frozenset({"aiohttp", "httpx"}),
    ASYNCIO: frozenset({"asyncio"}),
}


@dataclass(frozen=True)
class Room:
    imports: tuple[str, ...]  # the other rooms it may import
    uses: tuple[str, ...]  # the guarded libraries it may import


# The rooms of the package, from the inside out (docs/layout.md draws the same table).
ROOMS = {
    "domain/": Room(imports=(), uses=()),
    "store/": Room(imports=("domain/",), uses=(ASYNCIO, DRIVER)),
    "metrics.py": Room(imports=(), uses=(ASYNCIO,)),
    "delivery/": Room(imports=("domain/", "metrics.py"), uses=(ASYNCIO, HTTP)),
    "durable/": Room(
        imports=("domain/", "store/", "delivery/", "metrics.py"), uses=(ASYNCIO, HTTP)
    ),
    "api/": Room(
        imports=("domain/", "store/", "delivery/", "durable/", "metrics.py", "v1/"),
        uses=(ASYNCIO, GRPC),
    ),
    # The Segment-compatible HTTP intake: an aiohttp server over the API's one intake.
    "api/segment/": Room(
        imports=("domain/", "store/", "delivery/", "durable/", "metrics.py", "api/"),
        uses=(ASYNCIO, HTTP),
    ),
    "app/": Room(
        imports=(
            "domain/",
            "store/",
            "delivery/",
            "durable/",
            "metrics.py",
            "v1/",
            "api/",
            "api/segment/",
            "sim/",
            "client/",
        ),
        uses=(ASYNCIO, GRPC, HTTP),
    ),
    # The Heap simulator: an aiohttp server, a test double of Heap's API.
    "sim/": Room(imports=(), uses=(ASYNCIO, HTTP)),
    "client/": Room(imports=("v1/",), uses=(ASYNCIO, GRPC)),
    "compiled_check.py": Room(imports=(), uses=()),
    "__init__.py": Room(imports=("compiled_check.py",), uses=()),
    # Generated from protos/ by `make gen`: imported, not checked.
    "v1/": Room(imports=(), uses=()),
}
UNCHECKED = {"v1/"}


@dataclass(frozen=True)
class Import:
    line: int
    name: str  # absolute and dotted


def broken_rules(package: Path = PACKAGE) -> list[str]:
    """Every import in `package` that breaks a rule, as `path:line: why`."""
    broken: list[str] = []
    for path in sorted(package.rglob("*.py")):
        module = path.relative_to(package)
        room = _room_of(module.parts)
        if room in UNCHECKED:
            continue
        if room is None:
            broken.append(f"{path}:1: {module.parts[0]} is in no room of the layout")
            continue
        for found in _imports(path, module, package.name):
            why = _why_not(room, found.name, package.name)
            if why is not None:
                broken.append(f"{path}:{found.line}: {why}")
    return broken


def _room_of(parts: tuple[str, ...] | list[str]) -> str | None:
    """The room of a module (its path's parts below the package); a room in a room
    (api/segment/) is the innermost one."""
    if len(parts) > 1 and f"{parts[0]}/{parts[1]}/" in ROOMS:
        return f"{parts[0]}/{parts[1]}/"
    name = parts[0]
    for room in (f"{name}/", name, f"{name}.py"):
        if room in ROOMS:
            return room
    return None


def _why_not(room: str, imported: str, package: str) -> str | None:
    first, *rest = imported.split(".")
    if first == package:
        target = _room_of(rest) if rest else "__init__.py"
        if target is None:
            return f"{imported} is in no room of the layout"
        if target == room or target in ROOMS[room].imports:
            return None
        allowed = ", ".join(ROOMS[room].imports) or "nothing else of the service"
        return f"{room} may not import {target} ({imported}); it may import: {allowed}"
    for kind, libraries in GUARDED.items():
        if first in libraries and kind not in ROOMS[room].uses:
            users = ", ".join(name for name, r in ROOMS.items() if kind in r.uses)
            return f"{room} may not import {first} ({kind}; only {users} may)"
    return None


def _imports(path: Path, module: Path, package: str) -> Iterator[Import]:
    """Every import of the module, wherever it is (in a function, under TYPE_CHECKING), as
    an absolute name; `from <package> import x` names <package>.x."""
    folder = [package, *module.parts[:-1]]
    for node in _statements(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (Import(node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = folder[: len(folder) - node.level + 1] if node.level else []
            source = ".".join([*base, *([node.module] if node.module else [])])
            if source == package:
                yield from (Import(node.lineno, f"{source}.{alias.name}") for alias in node.names)
            else:
                yield Import(node.lineno, source)


def _statements(node: ast.AST) -> Iterator[ast.AST]:
    """The statements in `node`, at any depth: an import is one, so expressions (most of
    the tree) are not walked."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.stmt | ast.excepthandler | ast.match_case):
            yield child
            yield from _statements(child)


def main(arguments: list[str]) -> int:
    package = Path(arguments[0]) if arguments else PACKAGE
    broken = broken_rules(package)
    for line in broken:
        print(line)
    if broken:
        print(f"layout check: {len(broken)} imports break the layout (docs/layout.md)")
        return 1
    print("layout check: every import follows the layout (docs/layout.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
