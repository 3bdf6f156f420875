"""PostgreSQL for tests: the server at STORE_TEST_POSTGRES_URL (default 127.0.0.1:5432,
user postgres, database test), else a throwaway server started with initdb and pg_ctl;
a test that can have neither is skipped, saying why. Each user takes a schema of its own.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


@contextmanager
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server for the duration of the block."""
    url = os.environ.get("STORE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    problem = _unreachable(url)
    if problem is None:
        yield url
        return
    with _throwaway_postgres(problem) as throwaway_url:
        yield throwaway_url


@contextmanager
def postgres_schema(server_url: str, prefix: str = "test") -> Iterator[str]:
    """A URL on `server_url` whose tables live in a new schema, dropped afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}".encode())
        try:
            separator = "&" if "?" in server_url else "?"
            yield f"{server_url}{separator}options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE".encode())


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
