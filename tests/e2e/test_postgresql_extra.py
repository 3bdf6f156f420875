"""psycopg is an optional extra (`heap-destination[postgresql]`): without it every module
but the PostgreSQL engine imports, and a postgresql:// store stops `serve`, `run` and
`store migrate` with exit code 2 and one line naming the extra. Its absence is simulated
in a child interpreter, where None in sys.modules makes each import of it fail."""

import subprocess
import sys

import pytest

from tests.support.processes import free_address

WITHOUT_PSYCOPG = "import sys; sys.modules.update(psycopg=None, psycopg_pool=None); "
STORE_URL = "postgresql://nobody@127.0.0.1:1/none"
INSTALL = "pip install 'heap-destination[postgresql]'"


def _without_psycopg(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_PSYCOPG + code, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _command(*args: str) -> subprocess.CompletedProcess[str]:
    main = "from heap_destination.app.cli import main; sys.exit(main(sys.argv[1:]))"
    return _without_psycopg(main, *args)


def test_without_psycopg_every_module_but_the_postgresql_engine_imports() -> None:
    code = """
import importlib, pkgutil
import heap_destination
names = [m.name for m in pkgutil.walk_packages(heap_destination.__path__, "heap_destination.")]
engine = [n for n in names if n.startswith("heap_destination.store.postgres_")]
for name in names:
    if name not in engine:
        importlib.import_module(name)
print(len(names) - len(engine), sorted(engine))
"""
    finished = _without_psycopg(code)

    assert finished.returncode == 0, finished.stderr
    imported, engine = finished.stdout.split(" ", 1)
    assert int(imported) > 100
    assert "heap_destination.store.postgres_store" in engine


def _args(command: str) -> list[str]:
    if command == "serve":
        return ["serve", "--listen", free_address(), "--metrics-listen", "off"]
    if command == "run":
        listen = ["--listen", free_address(), "--simulator-listen", free_address()]
        listen += ["--http-listen", free_address()]
        return ["run", *listen, "--metrics-listen", "off"]
    return command.split()


@pytest.mark.parametrize("command", ["serve", "run", "store migrate"])
def test_without_psycopg_a_postgresql_store_stops_the_command_naming_the_extra(
    command: str,
) -> None:
    finished = _command(*_args(command), "--store", STORE_URL)

    assert finished.returncode == 2, finished.stderr
    assert "Traceback" not in finished.stderr
    [line] = [line for line in finished.stderr.splitlines() if line.startswith("heap-destination:")]
    assert f"store {STORE_URL}: a PostgreSQL store needs psycopg" in line
    assert INSTALL in line
