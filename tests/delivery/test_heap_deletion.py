"""HeapDeletionClient against the simulator, on a clock the test moves: tokens are reused
until shortly before they expire, and one Heap refuses is replaced once."""

import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from heap_destination.delivery.deletion.api_key import HeapApiKey
from heap_destination.delivery.deletion.auth_tokens import RENEWAL_MARGIN, TOKEN_LIFETIME
from heap_destination.delivery.deletion.client import HeapDeletionClient, heap_users
from heap_destination.delivery.deletion.errors import (
    DeletionRejected,
    DeletionUnavailable,
    HeapApiKeyRefused,
)
from heap_destination.delivery.heap.client import new_http_client
from heap_destination.delivery.request_slots import RequestSlots
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
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with new_http_client(4) as session:
        yield session


def deletion_client(
    http: aiohttp.ClientSession,
    key: str = KEY,
    timeout: float = 10.0,
    clock: Callable[[], float] = time.monotonic,
    **options: Any,
) -> HeapDeletionClient:
    return HeapDeletionClient(http, RequestSlots(4), HeapApiKey(key), timeout, clock, **options)


def attempts(sim: HeapSimulator, path: str) -> list[int | None]:
    return [attempt.status for attempt in sim.attempts() if attempt.path == path]


async def test_a_token_is_reused_until_shortly_before_it_expires(
    keyed_sim: HeapSimulator, http: aiohttp.ClientSession
) -> None:
    clock = Clock()
    client = deletion_client(http, clock=clock)

    await client.delete(keyed_sim.url, APP, heap_users(["a"], []))
    clock.now += TOKEN_LIFETIME - RENEWAL_MARGIN - 1
    await client.delete(keyed_sim.url, APP, heap_users(["b"], []))
    assert attempts(keyed_sim, AUTH_TOKEN) == [200]

    clock.now += 1
    await client.delete(keyed_sim.url, APP, heap_users(["c"], []))
    assert attempts(keyed_sim, AUTH_TOKEN) == [200, 200]


async def test_each_app_gets_its_own_token(
    keyed_sim: HeapSimulator, http: aiohttp.ClientSession
) -> None:
    client = deletion_client(http)

    await client.delete(keyed_sim.url, APP, heap_users(["a"], []))
    await client.delete(keyed_sim.url, "99", heap_users(["a"], []))

    assert [r.body for r in keyed_sim.accepted() if r.path == AUTH_TOKEN] == [
        {"app_id": APP},
        {"app_id": "99"},
    ]


async def test_a_token_heap_refuses_is_replaced_once(
    keyed_sim: HeapSimulator, http: aiohttp.ClientSession
) -> None:
    client = deletion_client(http)
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
    keyed_sim: HeapSimulator, http: aiohttp.ClientSession
) -> None:
    client = deletion_client(http, "not-the-key")

    with pytest.raises(HeapApiKeyRefused) as raised:
        await client.status(keyed_sim.url, APP, "r1")

    assert raised.value.status == 401
    assert "not-the-key" not in str(raised.value)


async def test_heap_unreachable_is_unavailable(http: aiohttp.ClientSession) -> None:
    client = deletion_client(http, timeout=1.0)

    with pytest.raises(DeletionUnavailable, match="could not reach Heap"):
        await client.delete("http://127.0.0.1:9", APP, heap_users(["a"], []))


async def test_a_key_outside_ascii_goes_to_heap_as_utf_8(http: aiohttp.ClientSession) -> None:
    key = "clé-🔑-7d1e"
    with HeapSimulator(api_key=key) as sim:
        client = deletion_client(http, key)

        [receipt] = await client.delete(sim.url, APP, heap_users(["a"], []))

    assert receipt.users == 1
    assert attempts(sim, AUTH_TOKEN) == [200]


async def test_each_request_waits_for_one_of_the_service_request_slots(
    keyed_sim: HeapSimulator, http: aiohttp.ClientSession
) -> None:
    slots = RequestSlots(1)
    client = HeapDeletionClient(http, slots, HeapApiKey(KEY), 0.5)
    assert slots.try_acquire()

    with pytest.raises(DeletionUnavailable, match="requests to Heap were all busy"):
        await client.delete(keyed_sim.url, APP, heap_users(["a"], []))
    assert keyed_sim.attempts() == []

    slots.release()
    await client.delete(keyed_sim.url, APP, heap_users(["a"], []))
    assert (slots.in_use, attempts(keyed_sim, USER_DELETION)) == (0, [200])


async def test_each_request_is_a_client_span_within_the_current_one(
    keyed_sim: HeapSimulator, http: aiohttp.ClientSession
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    client = deletion_client(http, tracer=tracer)
    keyed_sim.inject(Fault(status=503, path=USER_DELETION))

    with tracer.start_as_current_span("DeleteUsers") as call:
        with pytest.raises(DeletionUnavailable):
            await client.delete(keyed_sim.url, APP, heap_users(["a"], []))
        with pytest.raises(DeletionRejected):
            await client.status(keyed_sim.url, APP, "no-such-request")

    requests = [span for span in exporter.get_finished_spans() if span.name != "DeleteUsers"]
    assert [(span.name, span.kind) for span in requests] == [
        ("POST", SpanKind.CLIENT),
        ("POST", SpanKind.CLIENT),
        ("GET", SpanKind.CLIENT),
    ]
    assert all(span.parent == call.get_span_context() for span in requests)
    host, port = keyed_sim.url.removeprefix("http://").rsplit(":", 1)
    server = {"server.address": host, "server.port": int(port)}
    assert [dict(span.attributes or {}) for span in requests] == [
        {
            "http.request.method": "POST",
            "url.full": keyed_sim.url + AUTH_TOKEN,
            **server,
            "http.response.status_code": 200,
        },
        {
            "http.request.method": "POST",
            "url.full": keyed_sim.url + USER_DELETION,
            **server,
            "http.response.status_code": 503,
        },
        {
            "http.request.method": "GET",
            "url.full": f"{keyed_sim.url}/api/public/v0/deletion_status/no-such-request",
            **server,
            "http.response.status_code": 404,
        },
    ]
    provider.shutdown()
