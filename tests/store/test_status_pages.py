"""Status by ids callers share, a page at a time within some apps, on both engines."""

import time
from typing import Any

from heap_destination.store import NewItem, Store
from tests.store.conftest import OpenStore
from tests.store.helpers import APP, BASE_URL, OTHER_APP, THIRD_APP, new_item
from tests.store.query_cost import read_every_item_cost, status_cost

APPS = [APP, OTHER_APP, THIRD_APP]


async def _pages(store: Store, limit: int, **keys: Any) -> list[list[int]]:
    """The ids of every page of a status lookup, following each page's last id."""
    pages: list[list[int]] = []
    after: int | None = None
    while True:
        page = [item.id for item in await store.status(**keys, limit=limit, after_id=after)]
        if not page:
            return pages
        pages.append(page)
        after = page[-1]


async def test_status_pages_a_shared_id_by_id_within_the_apps_asked_for(store: Store) -> None:
    ids = await store.append(
        [
            new_item(f"user-{n}", app_id=APPS[n % 3], message_id="0", stream_event_id="0")
            for n in range(12)
        ]
        + [new_item("elsewhere", message_id="1", stream_event_id="1")]
    )
    shared = ids[:12]
    of = {app: shared[n::3] for n, app in enumerate(APPS)}
    mine = sorted(of[APP] + of[THIRD_APP])

    assert await _pages(store, 5, message_id="0") == [shared[0:5], shared[5:10], shared[10:12]]
    assert await _pages(store, 3, message_id="0", app_ids={APP, THIRD_APP}) == [
        mine[0:3],
        mine[3:6],
        mine[6:8],
    ]
    assert await _pages(store, 3, stream_event_id="0", app_ids=[OTHER_APP, OTHER_APP]) == [
        of[OTHER_APP][:3],
        of[OTHER_APP][3:],
    ]
    assert await store.status(message_id="0", app_ids=["9999999999"]) == []
    assert await store.status(message_id="0", app_ids=[]) == []


async def test_status_by_item_id_is_within_the_apps_asked_for_too(store: Store) -> None:
    mine, theirs = await store.append(
        [new_item(message_id="m"), new_item(app_id=OTHER_APP, message_id="m")]
    )

    assert await store.status(item_id=theirs, app_ids=[APP]) == []
    assert [item.id for item in await store.status(item_id=theirs, app_ids=[OTHER_APP])] == [theirs]
    assert [item.id for item in await store.status(item_id=mine)] == [mine]
    both_keys = await store.status(message_id="m", item_id=theirs, app_ids=[APP, OTHER_APP])
    assert [item.id for item in both_keys] == [theirs]
    assert await store.status(message_id="m", item_id=theirs, after_id=theirs) == []


async def test_status_merges_more_apps_than_one_query_takes(store: Store) -> None:
    apps = [f"{n:010d}" for n in range(1, 131)]
    ids = await store.append([new_item(app_id=app, message_id="0") for app in reversed(apps)])
    asked = [*apps[:120], "9999999999"]
    expected = sorted(
        item_id for item_id, app in zip(ids, reversed(apps), strict=True) if app in asked
    )

    assert [item.id for item in await store.status(message_id="0", app_ids=asked)] == expected
    assert await _pages(store, 50, message_id="0", app_ids=asked) == [
        expected[0:50],
        expected[50:100],
        expected[100:120],
    ]
    assert await _pages(store, 100, message_id="0") == [ids[0:100], ids[100:130]]


async def test_a_message_id_shared_by_100_000_items_answers_a_first_page_reading_little(
    open_test_store: OpenStore, store_url: str
) -> None:
    store = await open_test_store(max_items=200_000, max_items_per_app=200_000)
    body = b'{"identity":"user-1","event":"Signed Up"}'
    now = time.time()
    items = [
        NewItem(APP if n % 3 else THIRD_APP, BASE_URL, "track", "user-1", body, None, "0", "", now)
        for n in range(100_000)
    ]
    ids = [*await store.append(items[:50_000]), *await store.append(items[50_000:])]
    thirds = ids[0::3]

    costs: dict[str, int] = {}
    pages: dict[str, list[int]] = {}
    for name, app_ids, after in [
        ("every app", None, None),
        ("one app", [THIRD_APP], None),
        ("two apps, deep", [APP, THIRD_APP], ids[99_000]),
        ("another app", [OTHER_APP], None),
    ]:
        found = await store.status(message_id="0", app_ids=app_ids, limit=101, after_id=after)
        pages[name] = [item.id for item in found]
        costs[name] = status_cost(store_url, "0", app_ids, 101, after)

    assert pages == {
        "every app": ids[:101],
        "one app": thirds[:101],
        "two apps, deep": ids[99_001:99_102],
        "another app": [],
    }
    # A page costs about its own size per app, a fraction of reading every item of the id.
    every_item = read_every_item_cost(store_url, "0")
    print(f"\ncosts {costs}, every item {every_item}")
    assert max(costs.values()) * 20 < every_item, (costs, every_item)
