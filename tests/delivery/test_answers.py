import logging

import pytest

from heap_destination.delivery.answers import future_answer, shared_answer
from heap_destination.delivery.errors import HeapRejected, HeapUnavailable
from heap_destination.delivery.pending import Pending


async def test_a_future_answer_resolves_its_future() -> None:
    accepted, accept = future_answer()
    rejected, reject = future_answer()
    accept(None)
    reject(HeapRejected(400, "bad event"))

    assert await accepted is None
    with pytest.raises(HeapRejected):
        await rejected


async def test_a_future_answer_is_told_once_and_a_caller_gone_away_is_not_an_error() -> None:
    future, answer = future_answer()
    future.cancel()  # the caller stopped waiting
    answer(None)  # no InvalidStateError
    assert future.cancelled()


def test_a_shared_answer_tells_success_once_every_part_succeeded() -> None:
    told: list[BaseException | None] = []
    part = shared_answer(told.append, 2)
    part(None)
    assert told == []
    part(None)
    assert told == [None]


def test_a_shared_answer_tells_the_first_failure_at_once_and_nothing_after() -> None:
    told: list[BaseException | None] = []
    failure = HeapUnavailable("Heap did not answer")
    part = shared_answer(told.append, 2)
    part(failure)
    part(None)
    assert told == [failure]


def test_a_pending_item_is_answered_once() -> None:
    told: list[BaseException | None] = []
    pending = Pending("event", 0.0, "caller", told.append)
    pending.settle(None)
    pending.settle(HeapUnavailable("too late"))
    assert told == [None]
    assert pending.settled


def test_an_answer_that_fails_is_logged_and_keeps_no_other_item_from_its_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    told: list[BaseException | None] = []

    def broken(error: BaseException | None) -> None:
        raise RuntimeError("a bug in whoever submitted")

    batch = [Pending("a", 0.0, "", broken), Pending("b", 0.0, "", told.append)]
    with caplog.at_level(logging.ERROR):
        for pending in batch:
            pending.settle(None)

    assert told == [None]
    assert "answering a settled item failed" in caplog.text
