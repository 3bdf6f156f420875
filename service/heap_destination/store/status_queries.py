"""Finding items by the ids callers gave them, a page at a time, within some apps.

Callers choose message ids and stream event ids, so one id may be shared by any number
of items of any number of apps. Each app's items of the id come in id order from the
index on (the id, app_id, id), and the apps' runs are merged by id, so that a page costs
about its own size per app, however many other items share the id.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from heap_destination.store.items import ITEM_COLUMNS, StoredItem
from heap_destination.store.queries import Query

DEFAULT_LIMIT = 1000
# SQLite merges at most 500 SELECTs in one compound; an app's arm takes up to 6 parameters.
APPS_PER_QUERY = 100


@dataclass(frozen=True)
class StatusKeys:
    """What a status lookup matches: every key given."""

    message_id: str | None = None
    item_id: int | None = None
    stream_event_id: str | None = None

    def __post_init__(self) -> None:
        if not self.message_id and self.item_id is None and not self.stream_event_id:
            raise ValueError("status needs a stream_event_id, a message_id or an item_id")

    @property
    def shared_key(self) -> tuple[str, str] | None:
        """The (column, value) of a caller's id, which items may share; None when only
        the item id is given."""
        if self.message_id:
            return "message_id", self.message_id
        if self.stream_event_id:
            return "stream_event_id", self.stream_event_id
        return None


def key_apps(keys: StatusKeys) -> Query:
    """The app_ids that hold items of the shared key: one index probe per app, whatever
    the number of items."""
    shared = keys.shared_key
    if shared is None:
        raise ValueError("key_apps needs a message_id or a stream_event_id")
    column, value = shared
    first = f"SELECT MIN(app_id) FROM items WHERE {column} = ? AND {column} <> ''"
    return (
        f"WITH RECURSIVE apps (app_id) AS ({first} "
        f"UNION ALL SELECT ({first} AND app_id > apps.app_id) FROM apps "
        "WHERE apps.app_id IS NOT NULL) "
        "SELECT app_id FROM apps WHERE app_id IS NOT NULL",
        (value, value),
    )


def page_queries(
    keys: StatusKeys,
    app_ids: Sequence[str] | None,
    limit: int,
    after_id: int | None,
    *,
    limit_each_app: bool,
) -> list[Query]:
    """The queries whose items, merged by `page`, are the page: of `app_ids`, or of every
    app when None (given a shared key, pass its `key_apps` instead)."""
    if app_ids is None:
        if keys.shared_key is not None:
            raise ValueError("a shared key's page needs the app_ids (key_apps)")
        return [status_page(keys, None, limit, after_id, limit_each_app=limit_each_app)]
    return [
        status_page(
            keys,
            app_ids[start : start + APPS_PER_QUERY],
            limit,
            after_id,
            limit_each_app=limit_each_app,
        )
        for start in range(0, len(app_ids), APPS_PER_QUERY)
    ]


def page(items: Iterable[StoredItem], limit: int) -> list[StoredItem]:
    """The first `limit` of the items of `page_queries`, by id."""
    return sorted(items, key=lambda item: item.id)[:limit]


def status_page(
    keys: StatusKeys,
    app_ids: Sequence[str] | None,
    limit: int,
    after_id: int | None,
    *,
    limit_each_app: bool,
) -> Query:
    """Up to `limit` items matching `keys`, by id, after `after_id`; of `app_ids` (at most
    APPS_PER_QUERY; every app when None).

    `limit_each_app` caps each app's run too: PostgreSQL then merges the runs, where it
    would otherwise sort them whole; SQLite merges either way, and stops at `limit`
    without it."""
    conditions, parameters = _conditions(keys, after_id)
    if app_ids is None:
        return (
            f"SELECT {ITEM_COLUMNS} FROM items WHERE {conditions} ORDER BY id LIMIT ?",
            (*parameters, limit),
        )
    if len(app_ids) > APPS_PER_QUERY:
        raise ValueError(f"status_page takes at most {APPS_PER_QUERY} app_ids")
    one_app = f"SELECT {ITEM_COLUMNS} FROM items WHERE {conditions} AND app_id = ?"
    arms: list[str] = []
    arm_parameters: list[object] = []
    for n, app_id in enumerate(app_ids):
        if limit_each_app:
            arms.append(f"SELECT {ITEM_COLUMNS} FROM ({one_app} ORDER BY id LIMIT ?) AS app_{n}")
            arm_parameters += [*parameters, app_id, limit]
        else:
            arms.append(one_app)
            arm_parameters += [*parameters, app_id]
    return (
        " UNION ALL ".join(arms) + " ORDER BY id LIMIT ?",
        (*arm_parameters, limit),
    )


def _conditions(keys: StatusKeys, after_id: int | None) -> tuple[str, list[object]]:
    conditions: list[str] = []
    parameters: list[object] = []
    # The indexes are partial (ids not empty): SQLite uses one only when the query says so.
    for column, value in (
        ("message_id", keys.message_id),
        ("stream_event_id", keys.stream_event_id),
    ):
        if value:
            conditions.append(f"{column} = ? AND {column} <> ''")
            parameters.append(value)
    if keys.item_id is not None:
        conditions.append("id = ?")
        parameters.append(keys.item_id)
    if after_id is not None:
        conditions.append("id > ?")
        parameters.append(after_id)
    return " AND ".join(conditions), parameters
