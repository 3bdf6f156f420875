"""Delivers prepared Track and Identify calls to a destination; OK only once Heap accepted."""

import asyncio
import time
from collections.abc import Coroutine
from typing import Any

from heap_destination.delivery.heap_bodies import (
    ADD_USER_PROPERTIES_PATH,
    IDENTIFY_PATH,
    TRACK_PATH,
    encode,
    identify_body,
    track_body,
    user_properties_body,
)
from heap_destination.delivery.heap_client import HeapClient
from heap_destination.domain.destination import Destination
from heap_destination.domain.identify import PreparedIdentify
from heap_destination.domain.track import PreparedTrack

# Time kept back from a caller's deadline so the answer still reaches it in time.
_ANSWER_MARGIN = 0.05


class HeapDelivery:
    def __init__(self, client: HeapClient) -> None:
        self._client = client

    def deadline(self, time_remaining: float | None) -> float:
        """The monotonic time by which a call that has `time_remaining` must be answered."""
        budget = self._client.policy.delivery_timeout
        if time_remaining is not None:
            budget = min(budget, time_remaining - min(_ANSWER_MARGIN, time_remaining / 10))
        return time.monotonic() + budget

    async def track(self, destination: Destination, track: PreparedTrack, deadline: float) -> None:
        sends = [
            self._post(
                destination, TRACK_PATH, track_body(destination.app_id, track.event), deadline
            )
        ]
        if track.user_properties is not None:
            body = user_properties_body(destination.app_id, track.user_properties)
            sends.append(self._post(destination, ADD_USER_PROPERTIES_PATH, body, deadline))
        await _all_accepted(sends)

    async def identify(
        self, destination: Destination, identify: PreparedIdentify, deadline: float
    ) -> None:
        sends = []
        if identify.user_properties is not None:
            body = user_properties_body(destination.app_id, identify.user_properties)
            sends.append(self._post(destination, ADD_USER_PROPERTIES_PATH, body, deadline))
        if identify.identify is not None:
            body = identify_body(destination.app_id, identify.identify)
            sends.append(self._post(destination, IDENTIFY_PATH, body, deadline))
        await _all_accepted(sends)

    def _post(
        self, destination: Destination, path: str, body: dict[str, Any], deadline: float
    ) -> Coroutine[Any, Any, None]:
        return self._client.post(destination.base_url + path, encode(body), deadline)


async def _all_accepted(sends: list[Coroutine[Any, Any, None]]) -> None:
    """Runs the sends together and raises the first failure once all have finished."""
    outcomes = await asyncio.gather(*sends, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
