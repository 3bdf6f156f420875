"""open_store: the Store a URL names, migrated and ready.

The PostgreSQL engine is imported only when a URL names it: its driver, psycopg, is an
optional extra of the package (POSTGRESQL_EXTRA).
"""

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from heap_destination.store.errors import StoreUnusable
from heap_destination.store.protocol import Store
from heap_destination.store.sqlite_store import SqliteStore

if TYPE_CHECKING:
    from heap_destination.store.postgres_store import PostgresStore

URL_FORMS = "sqlite:PATH or postgresql://USER@HOST:PORT/DATABASE"
POSTGRESQL_EXTRA = "heap-destination[postgresql]"

_SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")

DEFAULT_MAX_ITEMS = 1_000_000
DEFAULT_MAX_ITEMS_PER_APP = 100_000


async def open_store(
    url: str,
    *,
    max_items: int = DEFAULT_MAX_ITEMS,
    max_items_per_app: int = DEFAULT_MAX_ITEMS_PER_APP,
    clock: Callable[[], float] = time.time,
    create_empty: bool = False,
) -> Store:
    """Opens the store at `url` and applies any migration it lacks.

    Raises ValueError naming what is wrong with a malformed URL or bound, and
    StoreUnusable (naming the store) for one that cannot be used as it is: damaged, an
    empty SQLite file (unless `create_empty`), newer than this code, not writable, or
    on PostgreSQL without psycopg installed.
    """
    try:
        return await _open(url, max_items, max_items_per_app, clock, create_empty=create_empty)
    except StoreUnusable as refused:
        raise type(refused)(f"store {_shown(url)}: {refused}") from None


async def _open(
    url: str,
    max_items: int,
    max_items_per_app: int,
    clock: Callable[[], float],
    *,
    create_empty: bool,
) -> Store:
    if max_items < 1 or max_items_per_app < 1:
        raise ValueError("the store's bounds (max_items, max_items_per_app) must be at least 1")
    scheme, colon, _ = url.partition(":")
    scheme = scheme.lower()
    if not colon:
        raise ValueError(f"store URL {url!r}: names no scheme; use {URL_FORMS}")
    if scheme == "sqlite":
        return await SqliteStore.open(
            sqlite_path(url),
            max_items=max_items,
            max_items_per_app=max_items_per_app,
            clock=clock,
            create_empty=create_empty,
        )
    if scheme in ("postgresql", "postgres"):
        postgres_store = postgres_engine()
        return await postgres_store.open(
            postgres_conninfo(url),
            max_items=max_items,
            max_items_per_app=max_items_per_app,
            clock=clock,
        )
    raise ValueError(f"store URL {_shown(url)!r}: unknown scheme {scheme!r}; use {URL_FORMS}")


def sqlite_path(url: str) -> Path:
    path = url.partition(":")[2]
    if not path.strip():
        raise ValueError(f"store URL {url!r}: names no file; use sqlite:PATH")
    if path.startswith("//") and not path.startswith("///"):
        raise ValueError(f"store URL {url!r}: a host cannot be named; use sqlite:PATH")
    if path == ":memory:" or path.startswith("file:"):
        raise ValueError(f"store URL {url!r}: must name a file, as the store must be durable")
    return Path(path)


def postgres_engine() -> type["PostgresStore"]:
    """The PostgreSQL engine; raises StoreUnusable, naming the extra that installs it, when
    its driver cannot be imported."""
    try:
        from heap_destination.store.postgres_store import PostgresStore
    except ImportError as error:
        problem = " ".join(str(error).split())
        raise StoreUnusable(
            f"a PostgreSQL store needs psycopg, which cannot be imported ({problem}); "
            f"install the postgresql extra: pip install '{POSTGRESQL_EXTRA}'"
        ) from None
    return PostgresStore


def postgres_conninfo(url: str) -> str:
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    if not url.partition(":")[2].startswith("//"):
        raise ValueError(f"store URL {_shown(url)!r}: use postgresql://USER@HOST:PORT/DATABASE")
    try:
        options = conninfo_to_dict(url)
    except ProgrammingError as error:
        raise ValueError(f"store URL {_shown(url)!r}: {error}") from None
    for port in str(options.get("port", "5432")).split(","):
        if not (port.isdigit() and 1 <= int(port) <= 65535):
            raise ValueError(f"store URL {_shown(url)!r}: port {port!r} is not 1 to 65535")
    sslmode = options.get("sslmode")
    if sslmode is not None and sslmode not in _SSL_MODES:
        raise ValueError(
            f"store URL {_shown(url)!r}: sslmode {sslmode!r} is not one of {', '.join(_SSL_MODES)}"
        )
    return url


def _shown(url: str) -> str:
    """The URL without its password, for error messages."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url.partition(":")[0] + ":..."
    if password is None:
        return url
    return url.replace(f":{password}@", ":***@", 1)
