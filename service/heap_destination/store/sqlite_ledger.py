"""Budget reservations on SQLite, run inside the caller's write transaction (which
BEGIN IMMEDIATE already keeps every other reserver out of)."""

import sqlite3
import uuid
from collections.abc import Mapping

from heap_destination.store import queries
from heap_destination.store.budgets import (
    Budget,
    Reservation,
    app_exhausted,
    grants,
    retry_at,
    shortfall,
)


def reserve(
    db: sqlite3.Connection, app_id: str, wanted: Mapping[str, int], budget: Budget, now: float
) -> Reservation:
    cutoff = now - budget.window_seconds
    db.execute(*queries.ledger_expire(app_id, cutoff))
    (app_used,) = db.execute(*queries.ledger_app_used(app_id, cutoff)).fetchone()
    identity_used: dict[str, int] = {}
    for chunk in queries.chunks(list(wanted)):
        query = queries.ledger_identities_used(app_id, chunk, cutoff)
        identity_used.update((identity, int(used)) for identity, used in db.execute(*query))
    granted = grants(wanted, int(app_used), identity_used, budget)
    reservation = uuid.uuid4().hex
    db.executemany(queries.INSERT_LEDGER, queries.ledger_rows(reservation, app_id, granted, now))
    if granted == dict(wanted):
        return Reservation(id=reservation, granted=granted, retry_at=None)
    missing = shortfall(wanted, granted, int(app_used), identity_used, budget)
    expirings = queries.ledger_expirings(app_id, cutoff, missing.app, missing.identities)
    expiring = [db.execute(*query).fetchone()[0] for query in expirings]
    return Reservation(
        id=reservation,
        granted=granted,
        retry_at=retry_at(now, budget, expiring),
        app_exhausted=app_exhausted(int(app_used), granted, budget),
    )
