"""Answers to requests for Heap's own endpoints: faults first, then validation, then limits."""

from __future__ import annotations

import asyncio

from heap_destination.sim.replies import Reply, error_reply, json_reply, parse_json
from heap_destination.sim.state import SimulatorState
from heap_destination.sim.usage import usage_of
from heap_destination.sim.validation import validate


async def answer_heap_request(state: SimulatorState, path: str, raw_body: bytes) -> Reply | None:
    """Returns the answer to a Heap-endpoint POST, or None when the connection must be dropped.

    Every call is recorded as an attempt before it returns, so a client that has its answer
    always finds the attempt listed.
    """
    try:
        body: object = parse_json(raw_body)
        parse_error = None
    except ValueError as error:
        body, parse_error = None, str(error)
    fault = state.faults.next_fault(path, raw_body)
    if fault is not None and fault.latency_ms > 0:
        await asyncio.sleep(fault.latency_ms / 1000)
    if fault is not None and fault.drop_connection:
        state.recorder.record_attempt(path, body, None)
        return None
    if fault is not None and fault.status is not None:
        reply = _injected(fault.status, fault.retry_after)
    elif parse_error is not None:
        reply = error_reply(400, parse_error)
    else:
        reply = _checked(state, path, body)
    state.recorder.record_attempt(path, body, reply.status)
    return reply


def _injected(status: int, retry_after: str | None) -> Reply:
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    return error_reply(status, "injected fault", headers)


def _checked(state: SimulatorState, path: str, body: object) -> Reply:
    errors = validate(path, body)
    if errors or not isinstance(body, dict):
        return error_reply(400, "; ".join(errors))
    rejection = state.limiter.admit(usage_of(path, body))
    if rejection is not None:
        return error_reply(
            429,
            f"rate limit exceeded: {', '.join(rejection.exceeded)}",
            {"Retry-After": str(rejection.retry_after_seconds)},
        )
    state.recorder.record_accepted(path, body)
    return json_reply({})
