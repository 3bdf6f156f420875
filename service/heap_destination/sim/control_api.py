"""The /_sim endpoints that tests and operators use to inspect and steer the simulator."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from heap_destination.sim.faults import Fault
from heap_destination.sim.rate_limits import RateLimits
from heap_destination.sim.replies import Reply, error_reply, json_reply, no_content, parse_json
from heap_destination.sim.state import SimulatorState

Route = Callable[[SimulatorState, bytes], Reply]


def health(state: SimulatorState, raw_body: bytes) -> Reply:
    return json_reply({"ok": True})


def list_requests(state: SimulatorState, raw_body: bytes) -> Reply:
    return json_reply([request.to_json() for request in state.recorder.accepted()])


def list_attempts(state: SimulatorState, raw_body: bytes) -> Reply:
    return json_reply([attempt.to_json() for attempt in state.recorder.attempts()])


def clear_requests(state: SimulatorState, raw_body: bytes) -> Reply:
    state.recorder.clear()
    return no_content()


def inject_fault(state: SimulatorState, raw_body: bytes) -> Reply:
    try:
        fault = Fault.from_json(parse_json(raw_body))
    except (ValueError, TypeError) as error:
        return error_reply(400, str(error))
    state.faults.inject(fault)
    return no_content()


def list_faults(state: SimulatorState, raw_body: bytes) -> Reply:
    return json_reply(state.faults.to_json())


def clear_faults(state: SimulatorState, raw_body: bytes) -> Reply:
    state.faults.clear()
    return no_content()


def set_limits(state: SimulatorState, raw_body: bytes) -> Reply:
    try:
        limits = RateLimits.from_json(parse_json(raw_body))
    except (ValueError, TypeError) as error:
        return error_reply(400, str(error))
    state.limiter.configure(limits)
    return no_content()


def show_limits(state: SimulatorState, raw_body: bytes) -> Reply:
    return json_reply(state.limiter.limits.to_json())


def clear_limits(state: SimulatorState, raw_body: bytes) -> Reply:
    state.limiter.configure(None)
    return no_content()


CONTROL_ROUTES: Mapping[str, Mapping[str, Route]] = {
    "/_sim/health": {"GET": health},
    "/_sim/requests": {"GET": list_requests, "DELETE": clear_requests},
    "/_sim/attempts": {"GET": list_attempts},
    "/_sim/faults": {"GET": list_faults, "POST": inject_fault, "DELETE": clear_faults},
    "/_sim/limits": {"GET": show_limits, "POST": set_limits, "DELETE": clear_limits},
}
