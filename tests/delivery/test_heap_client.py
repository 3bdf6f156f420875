import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from heap_destination.delivery.errors import HeapRejected, HeapUnavailable
from heap_destination.delivery.heap.bodies import TRACK_PATH, bulk_track_body
from heap_destination.delivery.heap.client import HeapClient, new_http_client
from heap_destination.delivery.heap.retry_policy import RetryPolicy
from heap_destination.delivery.request_slots import RequestSlots
from heap_destination.domain.heap_calls import HeapEvent
from heap_destination.domain.json_text import encode
from heap_destination.sim import HeapSimulator
from heap_destination.sim.faults import Fault

APP = "1234567890"
FAST = RetryPolicy(max_attempts=5, initial_backoff=0.01, max_backoff=0.05, attempt_timeout=5.0)
BODY = encode(
    bulk_track_body(
        APP,
        [
            HeapEvent("user-1", "Signed Up", {"plan": "pro"}, "key-1"),
            HeapEvent("user-2", "Café ☕", {"seats": 3}, "key-2"),
        ],
    )
)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with new_http_client(8) as client:
        yield client


async def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    give_up = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < give_up, "condition not met"
        await asyncio.sleep(0.02)


def in_seconds(seconds: float) -> float:
    return time.monotonic() + seconds


async def test_a_2xx_answer_returns_and_heap_has_the_body(
    sim: HeapSimulator, http: aiohttp.ClientSession
) -> None:
    await HeapClient(http, FAST, RequestSlots(8)).post(sim.url + TRACK_PATH, BODY, in_seconds(10))

    assert [(a.path, a.status) for a in sim.attempts()] == [(TRACK_PATH, 200)]
    assert [r.body for r in sim.accepted()] == [json.loads(BODY)]


async def test_two_500s_then_200_succeeds_with_the_same_bytes_on_every_attempt(
    sim: HeapSimulator, http: aiohttp.ClientSession
) -> None:
    sim.inject(Fault(status=500, count=2))

    await HeapClient(http, FAST, RequestSlots(8)).post(sim.url + TRACK_PATH, BODY, in_seconds(10))

    attempts = sim.attempts()
    assert [a.status for a in attempts] == [500, 500, 200]
    assert all(a.body == json.loads(BODY) for a in attempts)
    assert len(sim.accepted()) == 1


async def test_429_is_retried_after_waiting_at_least_the_retry_after(
    sim: HeapSimulator, http: aiohttp.ClientSession
) -> None:
    sim.inject(Fault(status=429, count=1, retry_after="1"))
    started = time.monotonic()

    await HeapClient(http, FAST, RequestSlots(8)).post(sim.url + TRACK_PATH, BODY, in_seconds(10))

    assert time.monotonic() - started >= 1.0
    assert [a.status for a in sim.attempts()] == [429, 200]


async def test_a_400_raises_heap_rejected_at_once_quoting_heaps_answer(
    sim: HeapSimulator, http: aiohttp.ClientSession
) -> None:
    invalid = encode({"app_id": APP, "events": [{"identity": "user-1"}]})

    with pytest.raises(HeapRejected) as raised:
        await HeapClient(http, FAST, RequestSlots(8)).post(
            sim.url + TRACK_PATH, invalid, in_seconds(10)
        )

    assert raised.value.status == 400
    assert "events[0].event: required" in raised.value.body
    assert "events[0].event: required" in str(raised.value)
    assert [a.status for a in sim.attempts()] == [400]
    assert sim.accepted() == []


@pytest.mark.parametrize("status", [401, 403, 404, 413, 422])
async def test_other_4xx_answers_are_rejected_without_retrying(
    sim: HeapSimulator, http: aiohttp.ClientSession, status: int
) -> None:
    sim.inject(Fault(status=status, count=3))

    with pytest.raises(HeapRejected) as raised:
        await HeapClient(http, FAST, RequestSlots(8)).post(
            sim.url + TRACK_PATH, BODY, in_seconds(10)
        )

    assert raised.value.status == status
    assert len(sim.attempts()) == 1


async def test_running_out_of_attempts_raises_heap_unavailable(
    sim: HeapSimulator, http: aiohttp.ClientSession
) -> None:
    policy = RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.02)
    sim.inject(Fault(status=503, count=10, retry_after="0"))

    with pytest.raises(HeapUnavailable) as raised:
        await HeapClient(http, policy, RequestSlots(8)).post(
            sim.url + TRACK_PATH, BODY, in_seconds(10)
        )

    assert "503" in str(raised.value)
    assert not raised.value.maybe_received, "Heap answered every attempt"
    assert [a.status for a in sim.attempts()] == [503, 503, 503]
    assert sim.accepted() == []


async def test_an_attempt_that_timed_out_after_sending_may_have_reached_heap(
    sim: HeapSimulator, http: aiohttp.ClientSession
) -> None:
    policy = RetryPolicy(max_attempts=2, initial_backoff=0.01, attempt_timeout=0.1)
    sim.inject(Fault(latency_ms=300, count=1))
    sim.inject(Fault(status=503, count=1))

    with pytest.raises(HeapUnavailable) as raised:
        await HeapClient(http, policy, RequestSlots(8)).post(
            sim.url + TRACK_PATH, BODY, in_seconds(10)
        )

    assert raised.value.maybe_received, "the first attempt was sent and never answered"
    await wait_until(lambda: len(sim.accepted()) == 1)


async def test_a_dropped_connection_may_have_reached_heap(
    sim: HeapSimulator, http: aiohttp.ClientSession
) -> None:
    sim.inject(Fault(drop_connection=True, count=1))

    with pytest.raises(HeapUnavailable) as raised:
        await HeapClient(http, FAST, RequestSlots(8)).post(
            sim.url + TRACK_PATH, BODY, in_seconds(10), max_attempts=1
        )

    assert raised.value.maybe_received


async def test_a_deadline_shorter_than_retry_after_gives_up_without_waiting_it_out(
    sim: HeapSimulator, http: aiohttp.ClientSession
) -> None:
    sim.inject(Fault(status=429, count=1, retry_after="30"))
    started = time.monotonic()

    with pytest.raises(HeapUnavailable) as raised:
        await HeapClient(http, FAST, RequestSlots(8)).post(
            sim.url + TRACK_PATH, BODY, in_seconds(1)
        )

    assert time.monotonic() - started < 30  # it did not sleep through Heap's Retry-After
    assert raised.value.retry_after == 30.0
    assert [a.status for a in sim.attempts()] == [429]


async def test_a_deadline_already_past_sends_nothing(
    sim: HeapSimulator, http: aiohttp.ClientSession
) -> None:
    with pytest.raises(HeapUnavailable):
        await HeapClient(http, FAST, RequestSlots(8)).post(
            sim.url + TRACK_PATH, BODY, in_seconds(-1)
        )
    assert sim.attempts() == []


async def test_a_dropped_connection_is_retried(
    sim: HeapSimulator, http: aiohttp.ClientSession
) -> None:
    sim.inject(Fault(drop_connection=True, count=1))

    await HeapClient(http, FAST, RequestSlots(8)).post(sim.url + TRACK_PATH, BODY, in_seconds(10))

    attempts = sim.attempts()
    assert [a.status for a in attempts] == [None, 200]
    assert attempts[0].body == attempts[1].body == json.loads(BODY)


async def test_an_attempt_slower_than_the_attempt_timeout_is_retried(
    sim: HeapSimulator, http: aiohttp.ClientSession
) -> None:
    policy = RetryPolicy(initial_backoff=0.01, max_backoff=0.02, attempt_timeout=0.1)
    sim.inject(Fault(latency_ms=300, count=1))

    await HeapClient(http, policy, RequestSlots(8)).post(sim.url + TRACK_PATH, BODY, in_seconds(10))

    assert [r.body for r in sim.accepted()][:1] == [json.loads(BODY)]
    # The abandoned attempt still reaches Heap later, with the same idempotency keys.
    await wait_until(lambda: len(sim.attempts()) == 2)
    assert [a.body for a in sim.attempts()] == [json.loads(BODY)] * 2


async def test_an_unreachable_heap_raises_heap_unavailable_after_its_attempts(
    http: aiohttp.ClientSession,
) -> None:
    with HeapSimulator("127.0.0.1", 0) as stopped:
        url = stopped.url + TRACK_PATH
    policy = RetryPolicy(max_attempts=2, initial_backoff=0.01, max_backoff=0.02)

    with pytest.raises(HeapUnavailable) as raised:
        await HeapClient(http, policy, RequestSlots(8)).post(url, BODY, in_seconds(10))

    assert "could not reach Heap" in str(raised.value)
    assert "2 attempts" in str(raised.value)
    assert not raised.value.maybe_received, "no connection was ever made"


async def test_with_every_request_slot_held_a_short_deadline_fails_without_sending(
    sim: HeapSimulator, http: aiohttp.ClientSession
) -> None:
    slots = RequestSlots(1)
    await slots.acquire("someone-else", sim.url + TRACK_PATH)
    started = time.monotonic()

    with pytest.raises(HeapUnavailable) as raised:
        await HeapClient(http, FAST, slots).post(sim.url + TRACK_PATH, BODY, in_seconds(0.2))

    assert time.monotonic() - started < 5  # it gave up at its deadline, not after retries
    assert "busy" in str(raised.value)
    assert not raised.value.maybe_received
    assert sim.attempts() == []
    assert slots.in_use == 1  # the slot held by someone else is still theirs, and no more


async def test_a_request_waiting_for_a_slot_goes_out_once_one_is_released(
    sim: HeapSimulator, http: aiohttp.ClientSession
) -> None:
    slots = RequestSlots(1)
    await slots.acquire("someone-else", sim.url + TRACK_PATH)
    post = asyncio.create_task(
        HeapClient(http, FAST, slots).post(sim.url + TRACK_PATH, BODY, in_seconds(10))
    )
    await asyncio.sleep(0.05)
    assert not post.done()
    assert sim.attempts() == []

    slots.release()

    await asyncio.wait_for(post, timeout=10)
    assert [a.status for a in sim.attempts()] == [200]
    assert slots.in_use == 0


async def test_an_answer_timeout_gives_a_request_its_full_wait_for_heap_past_the_deadline(
    sim: HeapSimulator, http: aiohttp.ClientSession
) -> None:
    sim.inject(Fault(latency_ms=400, count=2))
    client = HeapClient(http, FAST, RequestSlots(8))

    with pytest.raises(HeapUnavailable):
        await client.post(sim.url + TRACK_PATH, BODY, in_seconds(0.1), max_attempts=1)
    status = await client.post(
        sim.url + TRACK_PATH, BODY, in_seconds(0.1), max_attempts=1, answer_timeout=2.0
    )

    assert status == 200


async def test_each_429_is_told_with_its_send_time_and_retry_after(
    sim: HeapSimulator, http: aiohttp.ClientSession
) -> None:
    sim.inject(Fault(status=429, count=2, retry_after="0.05"))
    heard: list[tuple[float, float | None]] = []
    started = time.monotonic()

    await HeapClient(http, FAST, RequestSlots(8)).post(
        sim.url + TRACK_PATH, BODY, in_seconds(10), on_throttled=lambda *told: heard.append(told)
    )

    assert [retry_after for _, retry_after in heard] == [0.05, 0.05]
    assert started <= heard[0][0] < heard[1][0]
    assert [a.status for a in sim.attempts()] == [429, 429, 200]


async def test_max_attempts_overrides_the_policy(
    sim: HeapSimulator, http: aiohttp.ClientSession
) -> None:
    sim.inject(Fault(status=503, count=1))

    with pytest.raises(HeapUnavailable):
        await HeapClient(http, FAST, RequestSlots(8)).post(
            sim.url + TRACK_PATH, BODY, in_seconds(10), max_attempts=1
        )

    assert [a.status for a in sim.attempts()] == [503]
