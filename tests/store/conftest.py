"""A `store` fixture that runs each contract test on SQLite and on PostgreSQL.

PostgreSQL is the server at STORE_TEST_POSTGRES_URL (default 127.0.0.1:5432, user
postgres, database test); when that cannot be reached, a throwaway server is started with
initdb and pg_ctl. Each test gets a schema of its own, dropped afterwards.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from heap_destination.store import Store, open_store
from tests.store.helpers import Clock

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"

OpenStore = Callable[..., Awaitable[Store]]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    url = os.environ.get("STORE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    problem = _unreachable(url)
    if problem is None:
        yield url
        return
    with _throwaway_postgres(problem) as throwaway_url:
        yield throwaway_url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:{tmp_path / 'store' / 'items.db'}"
        return
    base_url = request.getfixturevalue("postgres_url")
    schema = f"test_{uuid.uuid4().hex}"
    with psycopg.connect(base_url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}".encode())
        try:
            separator = "&" if "?" in base_url else "?"
            yield f"{base_url}{separator}options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE".encode())


@pytest.fixture
async def open_test_store(store_url: str) -> AsyncIterator[OpenStore]:
    """Opens stores on the test's database (closed at the end); keyword arguments as for
    open_store."""
    opened: list[Store] = []

    async def open_one(**options: Any) -> Store:
        store = await open_store(store_url, **options)
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        await store.close()


@pytest.fixture
async def store(open_test_store: OpenStore) -> Store:
    return await open_test_store()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def clocked_store(open_test_store: OpenStore, clock: Clock) -> Store:
    """A store on the test's `clock`."""
    return await open_test_store(clock=clock)


def _unreachable(url: str) -> str | None:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return None
    except psycopg.OperationalError as error:
        return str(error).strip().splitlines()[0]


class _throwaway_postgres:
    """A PostgreSQL server in a temporary directory on a free port, run as the postgres
    OS user when this is root (initdb refuses to run as root)."""

    def __init__(self, why: str) -> None:
        self.why = why
        self.directory = ""

    def __enter__(self) -> str:
        initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
        if initdb is None or pg_ctl is None:
            pytest.skip(f"PostgreSQL not reachable ({self.why}) and initdb/pg_ctl not installed")
        self.directory = tempfile.mkdtemp(prefix="store-test-pg-")
        prefix: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                pytest.skip(f"PostgreSQL not reachable ({self.why}); initdb needs runuser as root")
            shutil.chown(self.directory, user="postgres")
            prefix = ["runuser", "-u", "postgres", "--"]
        self.pg_ctl = [*prefix, pg_ctl, "-D", f"{self.directory}/data"]
        port = _free_port()
        try:
            _run([*prefix, initdb, "-D", f"{self.directory}/data", "-U", "postgres", "-A", "trust"])
            options = f"-p {port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
            _run([*self.pg_ctl, "-w", "-l", f"{self.directory}/log", "-o", options, "start"])
        except subprocess.CalledProcessError as error:
            self._remove()
            output = (error.stderr or b"").decode(errors="replace").strip()
            pytest.skip(
                f"PostgreSQL not reachable ({self.why}) and could not start one: {error} {output}"
            )
        return f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def __exit__(self, *exc_info: object) -> None:
        subprocess.run([*self.pg_ctl, "-m", "immediate", "stop"], capture_output=True, check=False)
        self._remove()

    def _remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def _run(command: list[str]) -> None:
    subprocess.run(command, capture_output=True, check=True, timeout=60)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
