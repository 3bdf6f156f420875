"""One request to Heap's user deletion API, the way the service sends all its requests to
Heap: on its one HTTP session, within one of its request slots (in a turn of its own, so
a flood of events does not hold a deletion back), and, when tracing, as a client span
within the current one."""

import asyncio
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

import aiohttp
from opentelemetry.trace import SpanKind, Tracer

from heap_destination.delivery.deletion.answers import Answer, unreachable
from heap_destination.delivery.deletion.errors import DeletionUnavailable
from heap_destination.delivery.heap.client import start_of_body
from heap_destination.delivery.heap.http_spans import STATUS_CODE, request_attributes
from heap_destination.delivery.request_slots import RequestSlots

DELETION_TURN = "user deletion"
"""The caller whose turn deletion requests wait in for a request slot."""
MAX_ANSWER_BYTES = 64 * 1024
"""Of an answer only this much is read: Heap's answers here are a small JSON object."""


class DeletionRequests:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        slots: RequestSlots,
        timeout: float,
        tracer: Tracer | None = None,
    ) -> None:
        """`timeout`: seconds for each request, from waiting for its slot to reading the
        answer. `tracer`: a client span per request; None when not tracing."""
        self._http = http
        self._slots = slots
        self._timeout = timeout
        self._tracer = tracer

    async def send(
        self,
        method: str,
        url: str,
        submitted: Sequence[str],
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """Heap's answer, whatever its status; raises DeletionUnavailable (its `submitted`
        the given ids) when Heap cannot be reached in time."""
        deadline = asyncio.get_running_loop().time() + self._timeout
        try:
            async with asyncio.timeout_at(deadline):
                await self._slots.acquire(DELETION_TURN, url)
        except TimeoutError:
            raise DeletionUnavailable(
                f"could not reach Heap at {url}: the service's requests to Heap were all busy",
                submitted=submitted,
            ) from None
        try:
            async with asyncio.timeout_at(deadline):
                if self._tracer is None:
                    return await self._exchange(method, url, body, headers)
                with self._tracer.start_as_current_span(
                    method, kind=SpanKind.CLIENT, attributes=request_attributes(method, url)
                ) as span:
                    answer = await self._exchange(method, url, body, headers)
                    span.set_attribute(STATUS_CODE, answer.status)
                    return answer
        except (aiohttp.ClientError, TimeoutError) as error:
            raise unreachable(url, error, submitted) from None
        finally:
            self._slots.release()

    async def _exchange(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: Mapping[str, str] | None,
    ) -> Answer:
        """One HTTP exchange; redirects are not followed (an answer of Heap's is final)."""
        async with self._http.request(
            method, url, data=body, headers=headers, allow_redirects=False
        ) as response:
            read = await start_of_body(response.content, MAX_ANSWER_BYTES)
            retry_after = response.headers.get("retry-after")
            return Answer(response.status, urlsplit(url).path, read, retry_after)
