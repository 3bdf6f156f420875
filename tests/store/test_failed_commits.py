"""An append whose transaction fails raises and stores nothing, on both engines: on
PostgreSQL even when the failure comes at COMMIT, after every statement succeeded."""

import sqlite3
from contextlib import closing
from pathlib import Path

import psycopg
import pytest

from heap_destination.store import Store, StoreUnavailable
from tests.store.helpers import new_item

_SQLITE_REFUSAL = (
    "CREATE TRIGGER refuse BEFORE INSERT ON items WHEN NEW.message_id = 'refused' "
    "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
)
# A constraint trigger deferred to COMMIT: the inserts succeed, the commit does not.
_POSTGRES_REFUSAL = (
    "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF NEW.message_id = 'refused' THEN RAISE EXCEPTION 'refused by the test'; END IF; "
    "RETURN NULL; END $$",
    "CREATE CONSTRAINT TRIGGER refuse AFTER INSERT ON items DEFERRABLE INITIALLY DEFERRED "
    "FOR EACH ROW EXECUTE FUNCTION refuse()",
)


def _refuse_the_item_named_refused(store_url: str) -> None:
    if store_url.startswith("sqlite:"):
        with closing(sqlite3.connect(Path(store_url.removeprefix("sqlite:")))) as db:
            db.execute(_SQLITE_REFUSAL)
        return
    with psycopg.connect(store_url, autocommit=True) as pg:
        for statement in _POSTGRES_REFUSAL:
            pg.execute(statement.encode())


async def test_a_failed_append_stores_none_of_its_items(store: Store, store_url: str) -> None:
    _refuse_the_item_named_refused(store_url)

    with pytest.raises(StoreUnavailable, match="refused by the test") as raised:
        await store.append(
            [new_item(message_id="before"), new_item(message_id="refused"), new_item()]
        )

    assert isinstance(raised.value.__cause__, (sqlite3.Error, psycopg.Error))

    assert await store.status(message_id="before") == []
    assert await store.backlog() == []
