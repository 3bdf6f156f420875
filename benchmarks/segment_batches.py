"""The fourth way in: Segment-style `POST /v1/batch` requests to the service's HTTP intake,
as a Segment SDK sends them, a fixed number of requests in flight.

Each item carries its event's id as `messageId`, which becomes Heap's idempotency key, so
the ids can be checked against what Heap accepted as for the other scenarios.
"""

import asyncio
import base64
import json
import time

import aiohttp

from benchmarks.payloads import Payload, user_id
from benchmarks.scenarios import CALL_TIMEOUT, Measurement, ScenarioFailed, Stopwatch, new_ids

WRITE_KEY = base64.b64encode(b"benchmark-write-key:").decode()
"""Without a tokens file the intake takes any write key and sends to the server's app."""


def batch_bodies(
    payload: Payload, ids: list[str], identities: int, per_request: int
) -> list[bytes]:
    """The events `ids` as `/v1/batch` bodies of `per_request` track items each."""
    bodies = []
    for start in range(0, len(ids), per_request):
        batch = [
            {
                "type": "track",
                "event": payload.event,
                "userId": user_id(index, identities),
                "messageId": ids[index],
                "properties": payload.properties,
            }
            for index in range(start, min(start + per_request, len(ids)))
        ]
        bodies.append(json.dumps({"batch": batch}).encode())
    return bodies


async def run_http_batches(
    http_url: str,
    payload: Payload,
    events: int,
    identities: int,
    per_request: int,
    concurrency: int,
) -> Measurement:
    """`concurrency` requests in flight; an event's time is its request's. Any answer but
    a 200 that took every item fails the scenario."""
    ids = new_ids(events)
    bodies = batch_bodies(payload, ids, identities, per_request)
    latencies = [0.0] * events
    next_body = iter(range(len(bodies)))
    failures: list[str] = []
    headers = {"Authorization": f"Basic {WRITE_KEY}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency),
        timeout=aiohttp.ClientTimeout(total=CALL_TIMEOUT),
        headers=headers,
    ) as http:

        async def worker() -> None:
            for index in next_body:
                sent = time.perf_counter()
                try:
                    async with http.post(f"{http_url}/v1/batch", data=bodies[index]) as answer:
                        text = await answer.text()
                    items = min(per_request, events - index * per_request)
                    if answer.status != 200 or json.loads(text).get("taken") != items:
                        failures.append(f"batch {index}: {answer.status} {text[:200]}")
                except (aiohttp.ClientError, TimeoutError) as error:
                    failures.append(f"batch {index}: {type(error).__name__} {error}")
                took = time.perf_counter() - sent
                start = index * per_request
                latencies[start : start + per_request] = [took] * min(per_request, events - start)

        stopwatch = Stopwatch()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    if failures:
        raise ScenarioFailed(f"{len(failures)} of {len(bodies)} batches failed; {failures[0]}")
    return stopwatch.measurement(ids, latencies)
