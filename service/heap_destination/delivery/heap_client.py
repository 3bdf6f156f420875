"""Sends one request body to Heap and retries it until Heap accepts it or time runs out.

The same bytes go out on every attempt, so the idempotency keys inside never change and
Heap stores a retried event once.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
from opentelemetry.context import Context
from opentelemetry.trace import Link, Tracer

from heap_destination.delivery.errors import HeapRejected, HeapUnavailable
from heap_destination.delivery.heap_connections import HeapConnections
from heap_destination.delivery.request_slots import RequestSlots
from heap_destination.delivery.retry_policy import RetryPolicy, parse_retry_after
from heap_destination.delivery.trace_links import carried
from heap_destination.metrics import HEAP_REQUEST_DURATION, HEAP_RESPONSES, HEAP_RETRIES

log = logging.getLogger(__name__)

_MAX_QUOTED_BODY = 500

OnThrottled = Callable[[float, float | None], None]
"""Told of each 429: when its attempt was sent (monotonic), and Heap's Retry-After."""


class HeapClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
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
    ) -> int:
        """POSTs `body` to `url`; returns Heap's status once Heap answered 2xx.

        `deadline` is a time.monotonic() value. Each attempt waits for one of the
        service's request slots in `caller`'s turn (see RequestSlots). Raises
        HeapRejected for a permanent 4xx answer, HeapUnavailable when attempts (the
        policy's, or `max_attempts`) or time run out. `on_throttled` hears of each 429.
        When tracing, the request is a span linked to the calls it carries events of
        (see trace_links), its attempts are the HTTP client's spans within.
        """
        attempts = max_attempts or self.policy.max_attempts
        if self._tracer is None:
            return await self._post(url, body, deadline, caller, attempts, on_throttled)
        endpoint = urlsplit(url).path
        links = [Link(context) for context in carried()]
        # A request of its own trace: it serves many calls, none of them its parent.
        with self._tracer.start_as_current_span(
            f"Heap {endpoint}", context=Context(), links=links
        ) as span:
            span.set_attribute("heap.calls_carried", len(links))
            return await self._post(url, body, deadline, caller, attempts, on_throttled)

    async def _post(
        self,
        url: str,
        body: bytes,
        deadline: float,
        caller: str,
        max_attempts: int,
        on_throttled: OnThrottled | None,
    ) -> int:
        endpoint = urlsplit(url).path
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise HeapUnavailable(f"no time left to deliver to {url}")
            retry_after: float | None = None
            status: int | None = None
            sent_at = time.monotonic()
            try:
                response = await self._attempt(url, body, deadline, caller)
            except httpx.TransportError as error:
                HEAP_RESPONSES.labels(endpoint, "network_error").inc()
                failure = f"could not reach Heap at {url}: {type(error).__name__} {error}".strip()
            else:
                HEAP_RESPONSES.labels(endpoint, str(response.status_code)).inc()
                if response.is_success:
                    return response.status_code
                if response.status_code != 429 and response.status_code < 500:
                    raise HeapRejected(response.status_code, response.text[:_MAX_QUOTED_BODY])
                failure = f"Heap answered {response.status_code} at {url}"
                status = response.status_code
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                if status == 429 and on_throttled is not None:
                    on_throttled(sent_at, retry_after)
            if attempt >= max_attempts:
                raise HeapUnavailable(f"{failure} ({attempt} attempts)", retry_after, status)
            delay = max(self.policy.backoff(attempt), retry_after or 0.0)
            if time.monotonic() + delay >= deadline:
                raise HeapUnavailable(
                    f"{failure} (gave up after {attempt} attempts)", delay, status
                )
            HEAP_RETRIES.labels(endpoint).inc()
            log.info(
                "retrying Heap request",
                extra={"endpoint": endpoint, "attempt": attempt, "delay": round(delay, 3)},
            )
            await asyncio.sleep(delay)

    async def _attempt(self, url: str, body: bytes, deadline: float, caller: str) -> httpx.Response:
        try:
            async with asyncio.timeout_at(_loop_time(deadline)):
                await self._slots.acquire(caller, url)
        except TimeoutError:
            raise HeapUnavailable(
                f"no time left to deliver to {url}: the service's requests to Heap were all busy"
            ) from None
        try:
            started = time.monotonic()
            response = await self._http.post(
                url,
                content=body,
                timeout=max(0.001, min(self.policy.attempt_timeout, deadline - started)),
            )
        finally:
            self._slots.release()
        HEAP_REQUEST_DURATION.labels(urlsplit(url).path).observe(time.monotonic() - started)
        return response


def _loop_time(deadline: float) -> float:
    """A time.monotonic() deadline on the event loop's clock."""
    return asyncio.get_running_loop().time() + (deadline - time.monotonic())


def new_http_client(policy: RetryPolicy, max_requests: int) -> httpx.AsyncClient:
    """The one HTTP client the service shares for all Heap requests: one connection per
    request slot, so no request waits for a connection once it has a slot."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(policy.attempt_timeout),
        transport=HeapConnections(max_requests),
        headers={"content-type": "application/json", "user-agent": "heap-destination/0.1"},
    )
