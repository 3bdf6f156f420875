"""Durable storage of accepted Heap work, delivered later by a worker.

The store knows the domain (apps, endpoints, bodies) and nothing of gRPC or HTTP.
"""

from heap_destination.store.budgets import Budget, Reservation
from heap_destination.store.errors import (
    StoreDamaged,
    StoreFileEmpty,
    StoreFull,
    StoreUnavailable,
    StoreUnusable,
)
from heap_destination.store.group_commit import GroupCommit
from heap_destination.store.items import (
    AppBacklog,
    AppHold,
    Endpoint,
    NewItem,
    Status,
    StoredItem,
)
from heap_destination.store.opening import open_store
from heap_destination.store.protocol import Store
from heap_destination.store.sqlite_store import SqliteStore

__all__ = [
    "AppBacklog",
    "AppHold",
    "Budget",
    "Endpoint",
    "GroupCommit",
    "NewItem",
    "Reservation",
    "SqliteStore",
    "Status",
    "Store",
    "StoreDamaged",
    "StoreFileEmpty",
    "StoreFull",
    "StoreUnavailable",
    "StoreUnusable",
    "StoredItem",
    "open_store",
]
