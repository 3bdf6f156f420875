"""Sends one request body to Heap and retries it until Heap accepts it or time runs out.

The same bytes go out on every attempt, so the idempotency keys inside never change and
Heap stores a retried event once.

Requests go through aiohttp, on the one session the service shares (new_http_client):
past Heap's bulk cap each event can be a request of its own, so a request's CPU counts
(see docs/benchmarks.md).
"""

import asyncio
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import aiohttp
import certifi
from opentelemetry.context import Context
from opentelemetry.trace import Link, SpanKind, Tracer
from prometheus_client import Counter

from heap_destination.delivery.errors import HeapRejected, HeapUnavailable
from heap_destination.delivery.heap.http_spans import STATUS_CODE, request_attributes
from heap_destination.delivery.heap.retry_policy import RetryPolicy, parse_retry_after
from heap_destination.delivery.heap.trace_links import carried
from heap_destination.delivery.request_slots import RequestSlots
from heap_destination.metrics import (
    APP_ID_LABEL,
    HEAP_EVENTS,
    HEAP_REQUEST_DURATION,
    HEAP_RESPONSES,
    HEAP_RETRIES,
)

log = logging.getLogger(__name__)

_MAX_QUOTED_BODY = 500
# Of an answer's body only its start is read (and quoted): a server sending more is not
# waited for, nor held in memory. Enough for 500 characters of UTF-8.
_MAX_READ_BYTES = 4 * _MAX_QUOTED_BODY
_HEADERS = {"content-type": "application/json", "user-agent": "heap-destination/0.1"}


@dataclass(frozen=True)
class _Answer:
    """Heap's answer to one attempt."""

    status: int
    text: str
    retry_after: str | None


OnThrottled = Callable[[float, float | None], None]
"""Told of each 429: when its attempt was sent (monotonic), and Heap's Retry-After."""


class HeapClient:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        policy: RetryPolicy,
        slots: RequestSlots,
        tracer: Tracer | None = None,
    ) -> None:
        """`tracer`: spans for each request and its attempts; None when not tracing."""
        self._http = http
        self.policy = policy
        self._slots = slots
        self._tracer = tracer

    async def post(
        self,
        url: str,
        body: bytes,
        deadline: float,
        caller: str = "",
        *,
        max_attempts: int | None = None,
        on_throttled: OnThrottled | None = None,
        answer_timeout: float | None = None,
        app_id: str | None = None,
        events: int = 1,
    ) -> int:
        """POSTs `body` to `url`; returns Heap's status once Heap answered 2xx.

        `deadline` is a time.monotonic() value: no attempt starts after it, and an
        attempt's wait for Heap's answer ends at it, unless `answer_timeout` gives every
        attempt sent that many seconds, whatever the deadline (so that an answer Heap
        sends in time is never abandoned). Each attempt waits for one of the
        service's request slots in `caller`'s turn (see RequestSlots). Raises
        HeapRejected for a permanent 4xx answer, HeapUnavailable when attempts (the
        policy's, or `max_attempts`) or time run out. `on_throttled` hears of each 429.
        When tracing, the request is a span linked to the calls it carries events of
        (see trace_links), its attempts are client spans within. With `app_id`, the
        request's outcome counts its `events` (or users, accounts) in
        heap_destination_heap_events_total.
        """
        request = (url, body, deadline, caller, max_attempts, on_throttled, answer_timeout)
        if app_id is None:
            return await self._traced(*request)
        counted = _events(APP_ID_LABEL(app_id), _endpoint(url))
        try:
            status = await self._traced(*request)
        except HeapRejected:
            counted.rejected.inc(events)
            raise
        except HeapUnavailable:
            counted.failed.inc(events)
            raise
        counted.delivered.inc(events)
        return status

    async def _traced(
        self,
        url: str,
        body: bytes,
        deadline: float,
        caller: str,
        max_attempts: int | None,
        on_throttled: OnThrottled | None,
        answer_timeout: float | None,
    ) -> int:
        attempts = max_attempts or self.policy.max_attempts
        if self._tracer is None:
            return await self._post(
                url, body, deadline, caller, attempts, on_throttled, answer_timeout
            )
        endpoint = _endpoint(url)
        links = [Link(context) for context in carried()]
        # A request of its own trace: it serves many calls, none of them its parent.
        with self._tracer.start_as_current_span(
            f"Heap {endpoint}", context=Context(), links=links
        ) as span:
            span.set_attribute("heap.calls_carried", len(links))
            return await self._post(
                url, body, deadline, caller, attempts, on_throttled, answer_timeout
            )

    async def _post(
        self,
        url: str,
        body: bytes,
        deadline: float,
        caller: str,
        max_attempts: int,
        on_throttled: OnThrottled | None,
        answer_timeout: float | None,
    ) -> int:
        endpoint = _endpoint(url)
        attempt = 0
        unanswered = False
        while True:
            attempt += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise HeapUnavailable(
                    f"no time left to deliver to {url}", maybe_received=unanswered
                )
            retry_after: float | None = None
            status: int | None = None
            sent_at = time.monotonic()
            try:
                response = await self._attempt(
                    url, body, deadline, caller, endpoint, answer_timeout
                )
            except HeapUnavailable as unsent:
                unsent.maybe_received = unanswered
                raise
            except (aiohttp.ClientError, TimeoutError) as error:
                _responses(endpoint, "network_error").inc()
                failure = f"could not reach Heap at {url}: {type(error).__name__} {error}".strip()
                unanswered = unanswered or _maybe_sent(error)
            else:
                _responses(endpoint, str(response.status)).inc()
                if 200 <= response.status < 300:
                    return response.status
                if response.status != 429 and response.status < 500:
                    raise HeapRejected(response.status, response.text[:_MAX_QUOTED_BODY])
                failure = f"Heap answered {response.status} at {url}"
                status = response.status
                retry_after = parse_retry_after(response.retry_after)
                if status == 429 and on_throttled is not None:
                    on_throttled(sent_at, retry_after)
            if attempt >= max_attempts:
                raise HeapUnavailable(
                    f"{failure} ({attempt} attempts)",
                    retry_after,
                    status,
                    maybe_received=unanswered,
                )
            delay = max(self.policy.backoff(attempt), retry_after or 0.0)
            if time.monotonic() + delay >= deadline:
                raise HeapUnavailable(
                    f"{failure} (gave up after {attempt} attempts)",
                    delay,
                    status,
                    maybe_received=unanswered,
                )
            _retries(endpoint).inc()
            log.info(
                "retrying Heap request",
                extra={"endpoint": endpoint, "attempt": attempt, "delay": round(delay, 3)},
            )
            await asyncio.sleep(delay)

    async def _attempt(
        self,
        url: str,
        body: bytes,
        deadline: float,
        caller: str,
        endpoint: str,
        answer_timeout: float | None,
    ) -> _Answer:
        if not self._slots.try_acquire():
            try:
                async with asyncio.timeout_at(_loop_time(deadline)):
                    await self._slots.acquire(caller, url)
            except TimeoutError:
                raise HeapUnavailable(
                    f"no time left to deliver to {url}: "
                    "the service's requests to Heap were all busy"
                ) from None
        try:
            started = time.monotonic()
            timeout = answer_timeout or max(
                0.001, min(self.policy.attempt_timeout, deadline - started)
            )
            if self._tracer is None:
                answer = await self._exchange(url, body, timeout)
            else:
                with self._tracer.start_as_current_span(
                    "POST", kind=SpanKind.CLIENT, attributes=request_attributes("POST", url)
                ) as span:
                    answer = await self._exchange(url, body, timeout)
                    span.set_attribute(STATUS_CODE, answer.status)
        finally:
            self._slots.release()
        _durations(endpoint).observe(time.monotonic() - started)
        return answer

    async def _exchange(self, url: str, body: bytes, timeout: float) -> _Answer:
        """One HTTP exchange; redirects are not followed (an answer of Heap's is final)."""
        async with asyncio.timeout(timeout):
            async with self._http.post(url, data=body, allow_redirects=False) as response:
                start = await start_of_body(response.content, _MAX_READ_BYTES)
                text = start.decode("utf-8", "replace")
                return _Answer(response.status, text, response.headers.get("retry-after"))


async def start_of_body(content: aiohttp.StreamReader, limit: int) -> bytes:
    """Up to `limit` bytes of a body: all of a shorter one."""
    read = b""
    while len(read) < limit and not content.at_eof():
        chunk = await content.read(limit - len(read))
        if not chunk:
            break
        read += chunk
    return read


def _maybe_sent(error: BaseException) -> bool:
    """Whether an attempt that failed so may have reached Heap: all but a connection that
    was never made."""
    return not isinstance(
        error, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError | aiohttp.InvalidURL
    )


@lru_cache(maxsize=1024)
def _endpoint(url: str) -> str:
    """The path of a URL of Heap's API, as metrics and spans name it."""
    return urlsplit(url).path


# Labelled children, looked up once per endpoint (and status): the lookup costs more than
# the count.
_responses = lru_cache(maxsize=4096)(HEAP_RESPONSES.labels)
_retries = lru_cache(maxsize=1024)(HEAP_RETRIES.labels)


@dataclass(frozen=True)
class _EventOutcomes:
    delivered: Counter
    rejected: Counter
    failed: Counter


@lru_cache(maxsize=4096)
def _events(app_id: str, endpoint: str) -> _EventOutcomes:
    return _EventOutcomes(*(HEAP_EVENTS.labels(app_id, endpoint, outcome) for outcome in _OUTCOMES))


_OUTCOMES = ("delivered", "rejected", "failed")
_durations = lru_cache(maxsize=1024)(HEAP_REQUEST_DURATION.labels)


def _loop_time(deadline: float) -> float:
    """A time.monotonic() deadline on the event loop's clock."""
    return asyncio.get_running_loop().time() + (deadline - time.monotonic())


def new_http_client(max_requests: int) -> aiohttp.ClientSession:
    """The one HTTP session the service shares for its requests to Heap: at most one
    connection per request slot, certifi's certificate authorities, no cookies."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(
            limit=max_requests, ssl=ssl.create_default_context(cafile=certifi.where())
        ),
        headers=_HEADERS,
        cookie_jar=aiohttp.DummyCookieJar(),
    )
