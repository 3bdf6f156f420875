"""Stored items hold exactly what delivery puts into Heap's bodies."""

import json
from datetime import UTC, datetime

from heap_destination.delivery.heap.bodies import (
    bulk_body,
    bulk_track_body,
    bulk_user_properties_body,
)
from heap_destination.domain.destination import Destination
from heap_destination.domain.identify import IdentifyInput, prepare_identify
from heap_destination.domain.json_text import encode
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.domain.track import TrackInput, prepare_track
from heap_destination.durable.work import Origin, identify_work, track_work

DESTINATION = Destination("1234567890", "http://127.0.0.1:8787", NestedMode.FLATTEN, False)
ACCEPTED_AT = datetime(2026, 11, 28, 12, 0, 0, 250000, tzinfo=UTC).timestamp()
WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_a_bulk_body_of_stored_objects_is_byte_for_byte_the_body_built_at_once() -> None:
    tracks = [
        prepare_track(
            TrackInput(
                user_id=f"u{n}", event="Café ☕", properties={"a": {"b": n}}, timestamp=WHEN
            ),
            DESTINATION,
        )
        for n in range(3)
    ]
    items = [item for t in tracks for item in track_work(DESTINATION, t, Origin(ACCEPTED_AT))]

    assert bulk_body(DESTINATION.app_id, "events", [i.body for i in items]) == encode(
        bulk_track_body(DESTINATION.app_id, [t.event for t in tracks])
    )


def test_an_event_without_a_timestamp_carries_its_time_of_acceptance() -> None:
    track = prepare_track(TrackInput(user_id="u", event="E", message_id="m-1"), DESTINATION)

    (item,) = track_work(DESTINATION, track, Origin(ACCEPTED_AT, "m-1", "s-1"))

    fields = json.loads(item.body)
    assert fields["timestamp"] == "2026-11-28T12:00:00.250Z"
    assert (item.endpoint, item.identity, item.idempotency_key) == ("track", "u", "m-1")
    assert (item.message_id, item.stream_event_id, item.accepted_at) == ("m-1", "s-1", ACCEPTED_AT)


def test_an_event_with_a_timestamp_keeps_it() -> None:
    track = prepare_track(TrackInput(user_id="u", event="E", timestamp=WHEN), DESTINATION)

    (item,) = track_work(DESTINATION, track, Origin(ACCEPTED_AT))

    assert json.loads(item.body)["timestamp"] == "2026-01-02T03:04:05.000Z"


def test_traits_of_a_track_are_a_second_item_for_add_user_properties() -> None:
    track = prepare_track(
        TrackInput(user_id="u", event="E", traits={"plan": {"tier": "pro"}}), DESTINATION
    )

    _, user = track_work(DESTINATION, track, Origin(ACCEPTED_AT))

    assert (user.endpoint, user.identity, user.idempotency_key) == ("user_properties", "u", None)
    assert track.user_properties is not None
    assert bulk_body(DESTINATION.app_id, "users", [user.body]) == encode(
        bulk_user_properties_body(DESTINATION.app_id, [track.user_properties])
    )


def test_an_identify_is_its_traits_and_a_whole_identify_body() -> None:
    identify = prepare_identify(
        IdentifyInput(user_id="u", heap_user_id="42", traits={"email": "a@b.c"}), DESTINATION
    )

    user, binding = identify_work(DESTINATION, identify, Origin(ACCEPTED_AT, "m-9"))

    assert user.endpoint == "user_properties"
    assert binding.endpoint == "identify"
    assert json.loads(binding.body) == {
        "app_id": DESTINATION.app_id,
        "identity": "u",
        "user_id": "42",
        "timestamp": "2026-11-28T12:00:00.250Z",
    }
