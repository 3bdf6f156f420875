"""HeapConnections against the simulator over real HTTP: at most N connections, reused,
and never kept by a request that failed or gave up."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import httpx
import pytest

from heap_destination.delivery.heap_bodies import TRACK_PATH, bulk_track_body
from heap_destination.delivery.heap_connections import HeapConnections
from heap_destination.domain.heap_calls import HeapEvent
from heap_destination.domain.json_text import encode
from heap_destination.sim import HeapSimulator
from heap_destination.sim.faults import Fault
from tests.support.processes import free_address

BODY = encode(bulk_track_body("1234567890", [HeapEvent("user-1", "Signed Up", {}, "key-1")]))
_ESTABLISHED = "01"


@asynccontextmanager
async def client(connections: HeapConnections) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=connections, timeout=10) as http:
        yield http


def connections_open_to(url: str) -> int:
    """Established TCP connections whose far end is `url`'s port: with the simulator in
    this process, those are the client's."""
    port = f"{urlsplit(url).port:04X}"
    with open("/proc/net/tcp") as table:
        rows = [line.split() for line in table.readlines()[1:]]
    return sum(row[2].endswith(f":{port}") and row[3] == _ESTABLISHED for row in rows)


async def test_many_requests_at_once_share_at_most_n_connections(sim: HeapSimulator) -> None:
    sim.inject(Fault(latency_ms=100, probability=1.0))
    connections = HeapConnections(3)
    async with client(connections) as http:
        posts = [
            asyncio.create_task(http.post(sim.url + TRACK_PATH, content=BODY)) for _ in range(12)
        ]
        await asyncio.sleep(0.05)
        assert connections.free == 0
        assert connections_open_to(sim.url) <= 3

        responses = await asyncio.gather(*posts)

        assert [r.status_code for r in responses] == [200] * 12
        assert len(sim.attempts()) == 12
        assert connections.free == 3
        assert connections_open_to(sim.url) == 3


async def test_requests_one_after_another_reuse_one_connection(sim: HeapSimulator) -> None:
    connections = HeapConnections(4)
    async with client(connections) as http:
        for _ in range(5):
            assert (await http.post(sim.url + TRACK_PATH, content=BODY)).status_code == 200

        assert connections_open_to(sim.url) == 1
        assert connections.free == 4


async def test_a_request_that_gives_up_waiting_takes_no_connection(sim: HeapSimulator) -> None:
    sim.inject(Fault(latency_ms=200, count=1))
    connections = HeapConnections(1)
    async with client(connections) as http:
        first = asyncio.create_task(http.post(sim.url + TRACK_PATH, content=BODY))
        await asyncio.sleep(0.05)
        waiting = asyncio.create_task(http.post(sim.url + TRACK_PATH, content=BODY))
        await asyncio.sleep(0.05)
        waiting.cancel()

        assert (await first).status_code == 200
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert connections.free == 1
        assert (await http.post(sim.url + TRACK_PATH, content=BODY)).status_code == 200
        assert len(sim.attempts()) == 2


async def test_a_request_that_fails_gives_its_connection_back(sim: HeapSimulator) -> None:
    host, port = free_address().rsplit(":", 1)
    connections = HeapConnections(1)
    async with client(connections) as http:
        with pytest.raises(httpx.ConnectError):
            await http.post(f"http://{host}:{port}{TRACK_PATH}", content=BODY)

        assert connections.free == 1
        assert (await http.post(sim.url + TRACK_PATH, content=BODY)).status_code == 200


async def test_a_dropped_connection_fails_its_request_and_the_next_one_reconnects(
    sim: HeapSimulator,
) -> None:
    sim.inject(Fault(drop_connection=True, count=1))
    connections = HeapConnections(1)
    async with client(connections) as http:
        with pytest.raises(httpx.TransportError):
            await http.post(sim.url + TRACK_PATH, content=BODY)

        assert (await http.post(sim.url + TRACK_PATH, content=BODY)).status_code == 200
        assert connections.free == 1
