"""The schema, as versioned SQL that both engines apply in order at open time.

Statements are written once; the few type names the engines spell differently are
filled in per engine. A version, once released, is never edited: add a new one.
"""

from typing import Literal

from heap_destination.store.errors import StoreUnusable

Engine = Literal["sqlite", "postgresql"]

_TYPES: dict[Engine, dict[str, str]] = {
    "sqlite": {
        "id": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "bytes": "BLOB",
        "float": "REAL",
        "bool": "INTEGER",
    },
    "postgresql": {
        "id": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "bytes": "BYTEA",
        "float": "DOUBLE PRECISION",
        "bool": "BOOLEAN",
    },
}

SCHEMA_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version "
    "(version INTEGER PRIMARY KEY, applied_at {float} NOT NULL)"
)

# Undelivered items are "stored" or "delivering". `due_at` is when a "stored" item may be
# claimed (0 at first, later retry_at) and when a "delivering" item's lease expires, so
# one condition, `due_at <= now`, finds new, retryable and abandoned work alike.
_ITEMS_TABLE = """CREATE TABLE items (
                id {id},
                app_id TEXT NOT NULL,
                base_url TEXT NOT NULL,
                endpoint TEXT NOT NULL
                    CHECK (endpoint IN ('track', 'user_properties', 'identify')),
                identity TEXT NOT NULL,
                idempotency_key TEXT,
                body {bytes} NOT NULL,
                message_id TEXT NOT NULL DEFAULT '',
                stream_event_id TEXT NOT NULL DEFAULT '',
                accepted_at {float} NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                status TEXT NOT NULL DEFAULT 'stored'
                    CHECK (status IN ('stored', 'delivering', 'delivered', 'dead')),
                due_at {float} NOT NULL,
                lease_owner TEXT,
                last_error TEXT NOT NULL DEFAULT '',
                heap_status INTEGER,
                heap_body TEXT NOT NULL DEFAULT '',
                delivered_at {float}
            )"""
_ITEMS_INDEXES = (
    "CREATE INDEX items_pending ON items (id, due_at) WHERE status IN ('stored', 'delivering')",
    "CREATE INDEX items_pending_group ON items (app_id, base_url, endpoint, id) "
    "WHERE status IN ('stored', 'delivering')",
    "CREATE INDEX items_message ON items (message_id) WHERE message_id <> ''",
    "CREATE INDEX items_dead ON items (app_id, id) WHERE status = 'dead'",
    "CREATE INDEX items_delivered ON items (delivered_at) WHERE status = 'delivered'",
    "CREATE INDEX items_finished ON items (accepted_at) WHERE status IN ('delivered', 'dead')",
)
_STREAM_EVENT_INDEX = (
    "CREATE INDEX items_stream_event ON items (stream_event_id) WHERE stream_event_id <> ''"
)
_ENDPOINTS_V1 = "CHECK (endpoint IN ('track', 'user_properties', 'identify'))"
_ENDPOINTS_V3 = "CHECK (endpoint IN ('track', 'user_properties', 'identify', 'account_properties'))"

# SQLite cannot change a constraint in place: version 3 copies the items into a table
# that allows the new endpoint, keeping their ids and the id sequence (so that no id is
# ever given twice, even one of a pruned item).
_V3_SQLITE = (
    _ITEMS_TABLE.replace("CREATE TABLE items (", "CREATE TABLE items_v3 (").replace(
        _ENDPOINTS_V1, _ENDPOINTS_V3
    ),
    "INSERT INTO items_v3 SELECT * FROM items",
    "DELETE FROM sqlite_sequence WHERE name = 'items_v3'",
    "INSERT INTO sqlite_sequence (name, seq) "
    "SELECT 'items_v3', seq FROM sqlite_sequence WHERE name = 'items'",
    "DROP TABLE items",
    "ALTER TABLE items_v3 RENAME TO items",
    *_ITEMS_INDEXES,
    _STREAM_EVENT_INDEX,
)
_V3_POSTGRESQL = (
    "ALTER TABLE items DROP CONSTRAINT items_endpoint_check",
    f"ALTER TABLE items ADD CONSTRAINT items_endpoint_check {_ENDPOINTS_V3}",
)

# Callers choose message ids and stream event ids, so one may be shared by any number of
# events of any number of apps. Version 4 indexes each with the app_id and the item's id
# after it: one app's items of a shared id come in id order, so a page of them costs its
# own size, not the number of items sharing the id. A replayed dead letter keeps the time
# of its replay (replayed_at), from which its retry age counts.
_V4 = (
    "ALTER TABLE items ADD COLUMN replayed_at {float}",
    "DROP INDEX items_message",
    "CREATE INDEX items_message ON items (message_id, app_id, id) WHERE message_id <> ''",
    "DROP INDEX items_stream_event",
    "CREATE INDEX items_stream_event ON items (stream_event_id, app_id, id) "
    "WHERE stream_event_id <> ''",
)

# Items taken only to be kept as dead letters (invalid Segment items) are not
# replayable: version 5 marks which ones are.
_V5 = ("ALTER TABLE items ADD COLUMN replayable INTEGER NOT NULL DEFAULT 1",)

# Appends check the bounds on undelivered items. Version 6 keeps their count per app on
# PostgreSQL, so that an append reads it instead of counting the backlog: each statement
# that starts or ends undelivered items adds a row of the change per app to
# pending_changes, in its own transaction, whichever process runs it; an append (one at
# a time, under its lock) folds the committed changes into pending_counts. Nothing else
# writes pending_counts, and the change rows are only ever added and deleted, so
# deliveries and appends never wait on one another's rows. (SQLite's store keeps the
# count in the process, and counts again when another connection committed: see
# store/pending_counts.py.)
_PENDING = "status IN ('stored', 'delivering')"
_COUNT_PENDING = f"""CREATE FUNCTION items_count_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO pending_changes (app_id, change)
        SELECT app_id, COUNT(*) FROM new_items WHERE {_PENDING} GROUP BY app_id;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO pending_changes (app_id, change)
        SELECT app_id, SUM(change) FROM (
            SELECT app_id, 1 AS change FROM new_items WHERE {_PENDING}
            UNION ALL
            SELECT app_id, -1 AS change FROM old_items WHERE {_PENDING}
        ) AS changes
        GROUP BY app_id HAVING SUM(change) <> 0;
    ELSE
        INSERT INTO pending_changes (app_id, change)
        SELECT app_id, -COUNT(*) FROM old_items WHERE {_PENDING} GROUP BY app_id;
    END IF;
    RETURN NULL;
END
$$"""
_V6_POSTGRESQL = (
    "CREATE TABLE pending_counts (app_id TEXT PRIMARY KEY, pending BIGINT NOT NULL)",
    "CREATE TABLE pending_changes (app_id TEXT NOT NULL, change BIGINT NOT NULL)",
    _COUNT_PENDING,
    "CREATE TRIGGER items_pending_inserted AFTER INSERT ON items "
    "REFERENCING NEW TABLE AS new_items "
    "FOR EACH STATEMENT EXECUTE FUNCTION items_count_pending()",
    "CREATE TRIGGER items_pending_updated AFTER UPDATE ON items "
    "REFERENCING OLD TABLE AS old_items NEW TABLE AS new_items "
    "FOR EACH STATEMENT EXECUTE FUNCTION items_count_pending()",
    "CREATE TRIGGER items_pending_deleted AFTER DELETE ON items "
    "REFERENCING OLD TABLE AS old_items "
    "FOR EACH STATEMENT EXECUTE FUNCTION items_count_pending()",
    # After the triggers, in the same transaction: no change falls between.
    f"INSERT INTO pending_counts (app_id, pending) "
    f"SELECT app_id, COUNT(*) FROM items WHERE {_PENDING} GROUP BY app_id",
)

Statements = tuple[str, ...] | dict[Engine, tuple[str, ...]]
"""A version's statements: the same for both engines, or each engine's own."""

MIGRATIONS: list[tuple[int, Statements]] = [
    (
        1,
        (
            _ITEMS_TABLE,
            *_ITEMS_INDEXES,
        ),
    ),
    # App holds (Retry-After, a full budget, an operator's pause) and the budget ledger
    # that several processes on one store share to keep Heap's rate limits in total.
    (
        2,
        (
            """CREATE TABLE app_holds (
                app_id TEXT PRIMARY KEY,
                held_until {float},
                paused {bool} NOT NULL,
                reason TEXT NOT NULL
            )""",
            """CREATE TABLE budget_ledger (
                id {id},
                reservation TEXT NOT NULL,
                app_id TEXT NOT NULL,
                identity TEXT NOT NULL,
                events INTEGER NOT NULL,
                counted_at {float} NOT NULL
            )""",
            "CREATE INDEX budget_ledger_app ON budget_ledger (app_id, counted_at)",
            "CREATE INDEX budget_ledger_identity ON budget_ledger (app_id, identity, counted_at)",
            "CREATE INDEX budget_ledger_reservation ON budget_ledger (reservation)",
            _STREAM_EVENT_INDEX,
        ),
    ),
    # Heap's add_account_properties as a fourth endpoint.
    (3, {"sqlite": _V3_SQLITE, "postgresql": _V3_POSTGRESQL}),
    # Status pages per app, and the retry age of a replayed dead letter.
    (4, _V4),
    # Dead letters that replay leaves alone.
    (5, _V5),
    # The count of undelivered items per app that appends check (PostgreSQL).
    (6, {"sqlite": (), "postgresql": _V6_POSTGRESQL}),
]

LATEST_VERSION = MIGRATIONS[-1][0]


def refuse_newer(current: int) -> None:
    """Raises StoreUnusable for a schema newer than this code: an older version (a rollback
    after an upgrade) must not write its layout into a newer store."""
    if current > LATEST_VERSION:
        raise StoreUnusable(
            f"its schema is at version {current}, newer than this heap-destination knows "
            f"(version {LATEST_VERSION}): run the version that migrated it, or a later one"
        )


def schema_version_table(engine: Engine) -> str:
    return SCHEMA_VERSION_TABLE.format(**_TYPES[engine])


def pending_migrations(engine: Engine, current: int) -> list[tuple[int, list[str]]]:
    """The versions after `current`, in order, with their statements for `engine`."""
    return [
        (version, [statement.format(**_TYPES[engine]) for statement in _of(engine, statements)])
        for version, statements in MIGRATIONS
        if version > current
    ]


def _of(engine: Engine, statements: Statements) -> tuple[str, ...]:
    return statements[engine] if isinstance(statements, dict) else statements
