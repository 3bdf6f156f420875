"""A damaged SQLite file: found by any call, it takes no commit until it passes its
integrity check again; at open it is refused, as are an empty file, a file that cannot
be written and a path under a file. (PostgreSQL keeps its own files sound.)"""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from heap_destination.store import (
    Store,
    StoreDamaged,
    StoreFileEmpty,
    StoreUnusable,
    open_store,
)
from tests.store.helpers import new_item
from tests.support.damaged_store import damage_items, unwritable

ITEMS = 2000
RECOVERY = 'docs/operations.md, "Recovering a damaged store"'


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "store" / "items.db"


@pytest.fixture
async def store(path: Path) -> AsyncIterator[Store]:
    opened = await open_store(f"sqlite:{path}")
    await opened.append([new_item(identity=f"user-{n}") for n in range(ITEMS)])
    yield opened
    await opened.close()


async def test_a_store_found_damaged_commits_nothing_until_it_passes_its_check(
    store: Store, path: Path
) -> None:
    damage = damage_items(path)

    with pytest.raises(StoreDamaged, match="malformed"):
        await store.backlog()  # reads every undelivered item, the damaged page's too
    with pytest.raises(StoreDamaged, match="nothing is committed"):
        await store.append([new_item(message_id="refused")])
    with pytest.raises(StoreDamaged, match="nothing is committed"):
        await store.claim("worker-a", 10, 30.0)
    with pytest.raises(StoreDamaged, match="integrity check"):
        await store.check()

    damage.repair()
    await _passes_check(store)
    [accepted] = await store.append([new_item(message_id="accepted")])

    assert await store.status(message_id="refused") == []
    assert [item.id for item in await store.status(message_id="accepted")] == [accepted]
    assert sum(app.undelivered for app in await store.backlog()) == ITEMS + 1


async def test_a_sound_store_passes_its_check(store: Store) -> None:
    await store.check()


async def test_a_damaged_file_is_refused_at_open_naming_it_and_the_recovery_steps(
    store: Store, path: Path
) -> None:
    await store.close()
    damage_items(path)

    with pytest.raises(StoreUnusable) as refused:
        await open_store(f"sqlite:{path}")

    message = str(refused.value)
    assert f"store sqlite:{path}: the file is damaged (integrity check: " in message
    assert RECOVERY in message


async def test_a_file_that_is_not_a_database_is_refused_at_open(path: Path) -> None:
    path.parent.mkdir()
    path.write_bytes(b"not a database, " * 1000)

    with pytest.raises(StoreUnusable, match="damaged \\(file is not a database\\)"):
        await open_store(f"sqlite:{path}")


async def test_an_empty_file_is_refused_unless_a_new_store_is_asked_for(path: Path) -> None:
    path.parent.mkdir()
    path.touch()

    with pytest.raises(StoreFileEmpty, match=f"store sqlite:{path}: the file is empty"):
        await open_store(f"sqlite:{path}")
    assert path.stat().st_size == 0
    store = await open_store(f"sqlite:{path}", create_empty=True)
    try:
        assert await store.backlog() == []
    finally:
        await store.close()


async def test_a_missing_file_becomes_a_store_once_even_when_opened_twice_at_once(
    path: Path,
) -> None:
    first, second = await asyncio.gather(open_store(f"sqlite:{path}"), open_store(f"sqlite:{path}"))
    try:
        [item_id] = await first.append([new_item()])
        assert [item.id for item in await second.status(item_id=item_id)] == [item_id]
    finally:
        await first.close()
        await second.close()

    assert sorted(p.name for p in path.parent.iterdir()) == ["items.db"]


async def test_a_file_that_cannot_be_written_is_refused_at_open(store: Store, path: Path) -> None:
    await store.close()

    with unwritable(path), pytest.raises(StoreUnusable) as refused:
        await open_store(f"sqlite:{path}")

    assert str(refused.value).startswith(f"store sqlite:{path}: cannot write the file (")


@pytest.mark.parametrize("under", ["db", "more/db"])
async def test_a_path_under_a_file_is_refused_naming_the_file(tmp_path: Path, under: str) -> None:
    (tmp_path / "file").write_text("x")

    with pytest.raises(StoreUnusable) as refused:
        await open_store(f"sqlite:{tmp_path / 'file' / under}")

    assert f"{tmp_path / 'file'} is a file, not a directory" in str(refused.value)


async def _passes_check(store: Store, timeout: float = 10) -> None:
    """Checks until the store passes: while damaged, it checks again only after a pause in
    proportion to how long its last check took."""
    async with asyncio.timeout(timeout):
        while True:
            try:
                return await store.check()
            except StoreDamaged:
                await asyncio.sleep(0.01)
