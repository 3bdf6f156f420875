"""The simulator's deletion state on a clock the test moves: token and request lifetimes."""

from heap_destination.sim.deletion_state import DELETION_SECONDS, TOKEN_LIFETIME, DeletionState


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_serves_its_app_for_5_minutes() -> None:
    clock = Clock()
    state = DeletionState("key", clock)
    token = state.issue_token("11")

    clock.now += TOKEN_LIFETIME - 1
    assert state.app_of(token) == "11"
    clock.now += 1
    assert state.app_of(token) is None
    assert state.app_of("never-issued") is None


def test_a_deletion_request_is_pending_then_complete() -> None:
    clock = Clock()
    state = DeletionState("key", clock)
    request_id = state.take_request("11")

    assert state.status("11", request_id) == "pending"
    clock.now += DELETION_SECONDS
    assert state.status("11", request_id) == "complete"
    assert state.status("22", request_id) is None


def test_only_the_configured_key_is_the_api_key() -> None:
    assert DeletionState("key").is_api_key("key")
    assert not DeletionState("key").is_api_key("other")
    assert not DeletionState().is_api_key("")
    assert not DeletionState().has_api_key
