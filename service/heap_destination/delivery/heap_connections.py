"""The service's connections to Heap: pools of one connection each, lent out one request
at a time, the most recently returned first (its connection is the likeliest still open).

httpcore 1.0.9's shared pool looks at every connection, and for each one counts them all
again, whenever a request starts or ends (encode/httpcore#1035, unreleased): with 64
connections that pass was most of the service's CPU for single-event requests. In a
pool of one connection it is a few steps.
"""

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable

import httpx


class HeapConnections(httpx.AsyncBaseTransport):
    def __init__(self, connections: int) -> None:
        """At most `connections` requests are out at once; more wait for one to end."""
        ssl_context = httpx.create_ssl_context()
        one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        self._all = [
            httpx.AsyncHTTPTransport(verify=ssl_context, limits=one) for _ in range(connections)
        ]
        self._free = list(self._all)
        self._waiting: deque[asyncio.Future[httpx.AsyncHTTPTransport]] = deque()

    @property
    def free(self) -> int:
        """Pools not lent out now."""
        return len(self._free)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        pool = await self._borrow()
        try:
            response = await pool.handle_async_request(request)
        except BaseException:
            self._give_back(pool)
            raise
        # The pool is lent until the response's body is read and closed.
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_ReturnedOnClose(response.stream, lambda: self._give_back(pool)),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        for pool in self._all:
            await pool.aclose()

    async def _borrow(self) -> httpx.AsyncHTTPTransport:
        if self._free and not self._waiting:
            return self._free.pop()
        lent: asyncio.Future[httpx.AsyncHTTPTransport] = asyncio.get_running_loop().create_future()
        self._waiting.append(lent)
        try:
            return await lent
        except asyncio.CancelledError:
            if lent.done() and not lent.cancelled():
                self._give_back(lent.result())  # lent just as the waiter gave up: pass it on
            raise

    def _give_back(self, pool: httpx.AsyncHTTPTransport) -> None:
        while self._waiting:
            lent = self._waiting.popleft()
            if not lent.done():
                lent.set_result(pool)
                return
        self._free.append(pool)


class _ReturnedOnClose(httpx.AsyncByteStream):
    """A response body that gives its pool back once closed (once, however often)."""

    def __init__(self, body: httpx.AsyncByteStream, give_back: Callable[[], None]) -> None:
        self._body = body
        self._give_back: Callable[[], None] | None = give_back

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._body:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._body.aclose()
        finally:
            give_back, self._give_back = self._give_back, None
            if give_back is not None:
                give_back()
