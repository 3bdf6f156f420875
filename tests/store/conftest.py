"""A `store` fixture that runs each contract test on SQLite and on PostgreSQL (see
tests/support/postgres.py); each test gets a schema of its own, dropped afterwards."""

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from heap_destination.store import Store, open_store
from tests.store.helpers import Clock
from tests.support.postgres import postgres_schema, postgres_server

OpenStore = Callable[..., Awaitable[Store]]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:{tmp_path / 'store' / 'items.db'}"
        return
    with postgres_schema(request.getfixturevalue("postgres_url")) as url:
        yield url


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
