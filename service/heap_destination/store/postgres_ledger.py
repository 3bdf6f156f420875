"""Budget reservations on PostgreSQL, run inside the caller's transaction, which holds
the app's reservation lock."""

import uuid
from collections.abc import Mapping
from typing import Any

from psycopg import AsyncCursor

from heap_destination.store import queries
from heap_destination.store.budgets import (
    Budget,
    Reservation,
    app_exhausted,
    grants,
    retry_at,
    shortfall,
)
from heap_destination.store.postgres_cursor import execute, one

_INSERT_LEDGER = queries.postgres_sql(queries.INSERT_LEDGER).encode()


async def reserve(
    cursor: AsyncCursor[Any], app_id: str, wanted: Mapping[str, int], budget: Budget, now: float
) -> Reservation:
    cutoff = now - budget.window_seconds
    await execute(cursor, queries.ledger_expire(app_id, cutoff))
    (app_used,) = await one(await execute(cursor, queries.ledger_app_used(app_id, cutoff)))
    identity_used: dict[str, int] = {}
    for chunk in queries.chunks(list(wanted)):
        await execute(cursor, queries.ledger_identities_used(app_id, chunk, cutoff))
        identity_used.update((identity, int(used)) for identity, used in await cursor.fetchall())
    granted = grants(wanted, int(app_used), identity_used, budget)
    reservation = uuid.uuid4().hex
    rows = queries.ledger_rows(reservation, app_id, granted, now)
    if rows:
        await cursor.executemany(_INSERT_LEDGER, rows)
    if granted == dict(wanted):
        return Reservation(id=reservation, granted=granted, retry_at=None)
    missing = shortfall(wanted, granted, int(app_used), identity_used, budget)
    expiring: list[float | None] = []
    for query in queries.ledger_expirings(app_id, cutoff, missing.app, missing.identities):
        (counted_at,) = await one(await execute(cursor, query))
        expiring.append(counted_at)
    return Reservation(
        id=reservation,
        granted=granted,
        retry_at=retry_at(now, budget, expiring),
        app_exhausted=app_exhausted(int(app_used), granted, budget),
    )
