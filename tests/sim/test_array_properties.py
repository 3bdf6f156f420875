"""Arrays in properties: Heap's track API takes arrays and stores them joined by ||
(https://developers.heap.io/reference/track-1); user and account properties take none."""

import math

import pytest

from heap_destination.sim import HeapSimulator
from heap_destination.sim.validation import validate
from tests.support.http_client import HttpClient
from tests.support.simulator_api import tracked_events

TRACK = "/api/track"
USER_PROPERTIES = "/api/add_user_properties"
ACCOUNT_PROPERTIES = "/api/add_account_properties"


def track(properties: object) -> dict[str, object]:
    return {"app_id": "11", "event": "Signed Up", "identity": "alice", "properties": properties}


@pytest.mark.parametrize(
    "value",
    [
        ["vanilla", "chocolate", "strawberry"],
        [1, 2.5, -3],
        ["mixed", 1],
        [],
        [""],
        ["x" * 2000, "y"],  # Heap cuts the joined string at 1024 characters, never refuses it
    ],
)
def test_a_track_property_may_be_an_array_of_numbers_and_strings(value: list[object]) -> None:
    assert validate(TRACK, track({"flavors": value})) == []


def test_an_array_in_a_bulk_track_event_is_valid() -> None:
    body = {
        "app_id": "11",
        "events": [{"event": "E", "identity": "alice", "properties": {"tags": ["a", "b"]}}],
    }
    assert validate(TRACK, body) == []


@pytest.mark.parametrize("item", [{"a": 1}, [1], None, True, False])
def test_an_array_item_must_be_a_number_or_a_string(item: object) -> None:
    assert validate(TRACK, track({"flavors": ["vanilla", item]})) == [
        "properties.flavors[1]: an array item must be a number or a string"
    ]


@pytest.mark.parametrize("item", [math.nan, math.inf, -math.inf])
def test_an_array_number_must_be_finite(item: float) -> None:
    assert validate(TRACK, track({"n": [item]})) == [
        "properties.n[0]: an array item must be a finite number"
    ]


def test_every_bad_item_is_reported() -> None:
    assert len(validate(TRACK, track({"a": [None, {}, 1, "x", []]}))) == 3


def test_user_properties_take_no_arrays() -> None:
    body = {"app_id": "11", "identity": "alice", "properties": {"tags": ["a", "b"]}}
    assert validate(USER_PROPERTIES, body) == [
        "properties.tags: value must be a number or a string"
    ]


def test_account_properties_take_no_arrays() -> None:
    body = {"app_id": "11", "account_id": "acme", "properties": {"tags": ["a", "b"]}}
    assert validate(ACCOUNT_PROPERTIES, body) == [
        "properties.tags: value must be a number or a string"
    ]


def test_the_simulator_takes_a_tracked_array_over_http_and_refuses_one_in_traits() -> None:
    user = {"app_id": "11", "identity": "alice", "properties": {"tags": ["a", "b"]}}
    with HeapSimulator() as simulator, HttpClient(simulator.url) as http:
        taken = http.post(TRACK, json=track({"flavors": ["vanilla", "chocolate"]}))
        refused = http.post(USER_PROPERTIES, json=user)
        [event] = tracked_events(simulator.url)
    assert taken.status_code == 200
    assert refused.status_code == 400
    assert event["properties"] == {"flavors": ["vanilla", "chocolate"]}
