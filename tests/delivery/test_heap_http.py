"""The service's HTTP session for Heap, against the simulator over real HTTP: at most one
connection per request slot, connections reused, and redirects never followed."""

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import pytest

from heap_destination.delivery.errors import HeapRejected
from heap_destination.delivery.heap.bodies import TRACK_PATH, bulk_track_body
from heap_destination.delivery.heap.client import HeapClient, new_http_client
from heap_destination.delivery.heap.retry_policy import RetryPolicy
from heap_destination.delivery.request_slots import RequestSlots
from heap_destination.domain.heap_calls import HeapEvent
from heap_destination.domain.json_text import encode
from heap_destination.sim import HeapSimulator
from heap_destination.sim.faults import Fault

BODY = encode(bulk_track_body("1234567890", [HeapEvent("user-1", "Signed Up", {}, "key-1")]))
POLICY = RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.05, attempt_timeout=5.0)
_ESTABLISHED = "01"


def connections_open_to(url: str) -> int:
    """Established TCP connections whose far end is `url`'s port: with the simulator in
    this process, those are the client's."""
    port = f"{urlsplit(url).port:04X}"
    with open("/proc/net/tcp") as table:
        rows = [line.split() for line in table.readlines()[1:]]
    return sum(row[2].endswith(f":{port}") and row[3] == _ESTABLISHED for row in rows)


@pytest.fixture
def own_sim() -> Iterator[HeapSimulator]:
    """A simulator of the test's own: it counts the connections to the simulator's port,
    which must not include any a test before it opened to the run's shared one."""
    with HeapSimulator() as running:
        yield running


@asynccontextmanager
async def heap_client(slots: int) -> AsyncIterator[HeapClient]:
    async with new_http_client(slots) as http:
        yield HeapClient(http, POLICY, RequestSlots(slots))


def in_ten_seconds() -> float:
    return time.monotonic() + 10


async def test_many_requests_at_once_share_one_connection_per_request_slot(
    own_sim: HeapSimulator,
) -> None:
    sim = own_sim
    sim.inject(Fault(latency_ms=100, probability=1.0))
    async with heap_client(3) as client:
        posts = [
            asyncio.create_task(client.post(sim.url + TRACK_PATH, BODY, in_ten_seconds()))
            for _ in range(12)
        ]
        await asyncio.sleep(0.05)
        assert connections_open_to(sim.url) <= 3

        assert await asyncio.gather(*posts) == [200] * 12
        assert len(sim.attempts()) == 12
        assert connections_open_to(sim.url) == 3


async def test_requests_one_after_another_reuse_one_connection(own_sim: HeapSimulator) -> None:
    sim = own_sim
    async with heap_client(4) as client:
        for _ in range(5):
            assert await client.post(sim.url + TRACK_PATH, BODY, in_ten_seconds()) == 200

        assert connections_open_to(sim.url) == 1


async def test_a_redirect_is_heaps_answer_and_is_not_followed(sim: HeapSimulator) -> None:
    async def redirect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        location = sim.url + TRACK_PATH
        writer.write(
            f"HTTP/1.1 307 Temporary Redirect\r\nlocation: {location}\r\n"
            "content-length: 5\r\nconnection: close\r\n\r\nmoved".encode()
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(redirect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, heap_client(1) as client:
        with pytest.raises(HeapRejected) as rejected:
            await client.post(f"http://127.0.0.1:{port}{TRACK_PATH}", BODY, in_ten_seconds())

    assert rejected.value.status == 307
    assert sim.attempts() == []


async def test_an_answer_with_a_huge_body_is_quoted_from_its_start_without_reading_it_all(
    sim: HeapSimulator,
) -> None:
    """A 400 announcing 100 MB that sends 1 MB and then stalls: only the answer's start is
    read, so the rejection comes at once instead of after the attempt's timeout."""

    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 100000000\r\n\r\n")
        writer.write(b"x" * 1_000_000)
        await writer.drain()
        await asyncio.sleep(30)

    server = await asyncio.start_server(flood, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, heap_client(1) as client:
        started = time.monotonic()
        with pytest.raises(HeapRejected) as rejected:
            await client.post(f"http://127.0.0.1:{port}{TRACK_PATH}", BODY, in_ten_seconds())

    assert time.monotonic() - started < POLICY.attempt_timeout
    assert rejected.value.status == 400
    assert rejected.value.body == "x" * 500
