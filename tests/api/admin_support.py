"""A real store (SQLite or PostgreSQL) behind a real DeliveryAdminService server.

PostgreSQL is the server at STORE_TEST_POSTGRES_URL (default 127.0.0.1:5432, user
postgres, database test), a schema per test; tests on it are skipped when it cannot be
reached.
"""

import json
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, closing, contextmanager
from pathlib import Path
from typing import Any

import grpc
import psycopg

from heap_destination.api.admin.servicer import DeliveryAdminServicer
from heap_destination.api.caller import Caller
from heap_destination.app.interceptors import CallerInterceptor
from heap_destination.app.tokens import TokenStore
from heap_destination.store import NewItem, Store
from heap_destination.store.opening import sqlite_path
from heap_destination.v1 import admin_pb2_grpc
from tests.support.postgres import postgres_schema, postgres_server

ENGINES = ["sqlite", "postgresql"]

APP = "1111111111"
OTHER_APP = "2222222222"
BASE_URL = "https://heapanalytics.com"
SECRET = "secret-property-value"

ADMIN_TOKEN = "admin-token-0123456789ab"
BILLING_TOKEN = "billing-token-0123456789"
TOKENS = TokenStore(
    [
        (ADMIN_TOKEN, Caller("admin", None)),
        (BILLING_TOKEN, Caller("billing", frozenset({APP}))),
    ]
)


@contextmanager
def store_url(engine: str, tmp_path: Path) -> Iterator[str]:
    """A URL for a fresh store: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    if engine == "sqlite":
        yield f"sqlite:{tmp_path / 'items.db'}"
        return
    with postgres_server() as server_url, postgres_schema(server_url) as url:
        yield url


def drop_items(url: str) -> None:
    """Breaks a store from outside, as an operator or another process could."""
    if url.startswith("sqlite:"):
        with closing(sqlite3.connect(sqlite_path(url))) as db:
            db.execute("DROP TABLE items")
        return
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(b"DROP TABLE items")


@asynccontextmanager
async def admin_server(store: Store | None, tokens: TokenStore | None = None) -> AsyncIterator[str]:
    """Serves DeliveryAdminService, behind the service's own CallerInterceptor, on a free
    port; yields its target."""
    server = grpc.aio.server(interceptors=[CallerInterceptor(tokens)])
    admin_pb2_grpc.add_DeliveryAdminServiceServicer_to_server(DeliveryAdminServicer(store), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(None)


def new_item(
    identity: str = "user-1", app_id: str = APP, endpoint: Any = "track", **fields: Any
) -> NewItem:
    body = {"identity": identity, "event": "Signed Up", "properties": {"plan": SECRET}}
    values: dict[str, Any] = {
        "app_id": app_id,
        "base_url": BASE_URL,
        "endpoint": endpoint,
        "identity": identity,
        "body": json.dumps(body).encode(),
        "accepted_at": time.time(),
    }
    values.update(fields)
    return NewItem(**values)


async def dead_letters(store: Store, reasons: list[str], app_id: str = APP) -> list[int]:
    ids = await store.append(
        [new_item(f"user-{n}", app_id, message_id=f"dead-{n}") for n in range(len(reasons))]
    )
    for item_id, reason in zip(ids, reasons, strict=True):
        await store.mark_dead([item_id], reason, 400, '{"error": "bad"}')
    return ids
