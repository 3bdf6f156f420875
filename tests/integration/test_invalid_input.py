"""Bad input gets INVALID_ARGUMENT naming the field; nothing reaches Heap; the server stays up."""

from collections.abc import Callable
from typing import Any

import grpc
import pytest

from heap_destination.client import HeapDestinationClient, error_details
from heap_destination.sim import HeapSimulator
from tests.support.background_service import BackgroundService
from tests.support.simulator_api import accepted

CASES: dict[str, tuple[Callable[[HeapDestinationClient], Any], str]] = {
    "only an anonymous id": (
        lambda c: c.track("Signed Up", anonymous_id="anon-1"),
        "user_id",
    ),
    "identity over 255 characters": (
        lambda c: c.track("Signed Up", user_id="u" * 256),
        "user_id",
    ),
    "empty event name": (lambda c: c.track("", user_id="u1"), "event"),
    "event name over 1024 characters": (lambda c: c.track("e" * 1025, user_id="u1"), "event"),
    "property key over 1024 characters": (
        lambda c: c.track("Signed Up", user_id="u1", properties={"k" * 1025: 1}),
        "properties." + "k" * 40 + "…",
    ),
    "NaN number": (
        lambda c: c.track("Signed Up", user_id="u1", properties={"score": float("nan")}),
        "properties.score",
    ),
    "infinite number in a nested trait": (
        lambda c: c.track("Signed Up", user_id="u1", traits={"a": {"b": float("inf")}}),
        "traits.a.b",
    ),
    "non-numeric heap_user_id": (
        lambda c: c.identify(user_id="u1", heap_user_id="device-7"),
        "heap_user_id",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_rejected_naming_the_field(
    client: HeapDestinationClient, simulator: HeapSimulator, case: str
) -> None:
    call, field = CASES[case]

    with pytest.raises(grpc.RpcError) as raised:
        call(client)

    details = error_details(raised.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.reason == "INVALID_EVENT"
    assert field in details.field_violations, details.field_violations
    assert accepted(simulator.url) == []
    # The server is still up and delivering.
    assert client.track("Still Up", user_id="u1").event == "Still Up"


def test_no_app_id_anywhere_is_rejected(service: BackgroundService) -> None:
    with HeapDestinationClient(service.target) as client, pytest.raises(grpc.RpcError) as raised:
        client.track("Signed Up", user_id="u1")

    details = error_details(raised.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "config.app_id" in details.field_violations


def test_every_bad_field_is_named_at_once(client: HeapDestinationClient) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        client.track("", anonymous_id="a", properties={"x": float("-inf")})

    assert set(error_details(raised.value).field_violations) == {
        "user_id",
        "event",
        "properties.x",
    }
