"""HeapDeletionClient against the simulator, on a clock the test moves: tokens are reused
until shortly before they expire, and one Heap refuses is replaced once."""

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from heap_destination.delivery.deletion.api_key import HeapApiKey
from heap_destination.delivery.deletion.auth_tokens import RENEWAL_MARGIN, TOKEN_LIFETIME
from heap_destination.delivery.deletion.client import HeapDeletionClient, heap_users
from heap_destination.delivery.deletion.errors import (
    DeletionRejected,
    DeletionUnavailable,
    HeapApiKeyRefused,
)
from heap_destination.sim import HeapSimulator
from heap_destination.sim.faults import Fault

KEY = "delivery-test-key-41c9"
APP = "1234567890"
AUTH_TOKEN = "/api/public/v0/auth_token"
USER_DELETION = "/api/public/v0/user_deletion"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def keyed_sim() -> Iterator[HeapSimulator]:
    with HeapSimulator(api_key=KEY) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def attempts(sim: HeapSimulator, path: str) -> list[int | None]:
    return [attempt.status for attempt in sim.attempts() if attempt.path == path]


async def test_a_token_is_reused_until_shortly_before_it_expires(
    keyed_sim: HeapSimulator, http: httpx.AsyncClient
) -> None:
    clock = Clock()
    client = HeapDeletionClient(http, HeapApiKey(KEY), 10.0, clock)

    await client.delete(keyed_sim.url, APP, heap_users(["a"], []))
    clock.now += TOKEN_LIFETIME - RENEWAL_MARGIN - 1
    await client.delete(keyed_sim.url, APP, heap_users(["b"], []))
    assert attempts(keyed_sim, AUTH_TOKEN) == [200]

    clock.now += 1
    await client.delete(keyed_sim.url, APP, heap_users(["c"], []))
    assert attempts(keyed_sim, AUTH_TOKEN) == [200, 200]


async def test_each_app_gets_its_own_token(
    keyed_sim: HeapSimulator, http: httpx.AsyncClient
) -> None:
    client = HeapDeletionClient(http, HeapApiKey(KEY), 10.0)

    await client.delete(keyed_sim.url, APP, heap_users(["a"], []))
    await client.delete(keyed_sim.url, "99", heap_users(["a"], []))

    assert [r.body for r in keyed_sim.accepted() if r.path == AUTH_TOKEN] == [
        {"app_id": APP},
        {"app_id": "99"},
    ]


async def test_a_token_heap_refuses_is_replaced_once(
    keyed_sim: HeapSimulator, http: httpx.AsyncClient
) -> None:
    client = HeapDeletionClient(http, HeapApiKey(KEY), 10.0)
    keyed_sim.inject(Fault(status=401, path=USER_DELETION))

    [receipt] = await client.delete(keyed_sim.url, APP, heap_users(["a"], ["1"]))

    assert receipt.users == 2
    assert attempts(keyed_sim, USER_DELETION) == [401, 200]
    assert attempts(keyed_sim, AUTH_TOKEN) == [200, 200]

    keyed_sim.inject(Fault(status=401, path=USER_DELETION, count=2))
    with pytest.raises(DeletionRejected) as raised:
        await client.delete(keyed_sim.url, APP, heap_users(["a"], []))
    assert raised.value.status == 401


async def test_a_wrong_key_is_refused_without_showing_it(
    keyed_sim: HeapSimulator, http: httpx.AsyncClient
) -> None:
    client = HeapDeletionClient(http, HeapApiKey("not-the-key"), 10.0)

    with pytest.raises(HeapApiKeyRefused) as raised:
        await client.status(keyed_sim.url, APP, "r1")

    assert raised.value.status == 401
    assert "not-the-key" not in str(raised.value)


async def test_heap_unreachable_is_unavailable(http: httpx.AsyncClient) -> None:
    client = HeapDeletionClient(http, HeapApiKey(KEY), 1.0)

    with pytest.raises(DeletionUnavailable, match="could not reach Heap"):
        await client.delete("http://127.0.0.1:9", APP, heap_users(["a"], []))
