"""The two event payloads, as nested properties for the service and flat ones for Heap."""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf import struct_pb2

from heap_destination.v1 import config_pb2, stream_pb2, track_pb2

APP_ID = "1234567890"

FLATTENING_EXAMPLE: dict[str, Any] = {
    "foo": {
        "bar": {
            "cheese": "american",
            "prop": [1, 2, 3],
            "products": [{"A": "Jello"}, {"B": "Peanut"}],
        }
    }
}


def _large_properties() -> dict[str, Any]:
    """About 50 values: strings, numbers, booleans, three nested objects, three arrays."""
    properties: dict[str, Any] = {}
    for i in range(14):
        properties[f"text_{i:02d}"] = f"value {i} " + "abcdefgh" * (i % 5)
    for i in range(12):
        properties[f"number_{i:02d}"] = i * 1000 if i % 2 else i + 0.25
    for i in range(8):
        properties[f"flag_{i}"] = i % 3 == 0
    properties["address"] = {
        "street": "Unter den Linden 1",
        "city": "Zürich",
        "zip": "8001",
        "geo": {"lat": 47.3769, "lon": 8.5417},
    }
    properties["device"] = {
        "os": "iOS",
        "version": "17.4.1",
        "model": "iPhone15,2",
        "screen": {"width": 1179, "height": 2556, "retina": True},
    }
    properties["campaign"] = {"source": "newsletter", "medium": "email", "term": "spring sale"}
    properties["tags"] = ["new", "promo", "mobile"]
    properties["cart"] = [{"sku": "A-1", "qty": 2, "price": 9.99}, {"sku": "B-7", "qty": 1}]
    properties["scores"] = [1, 2.5, 3]
    return properties


@dataclass(frozen=True)
class Payload:
    name: str
    event: str
    properties: dict[str, Any]

    def flat_properties(self) -> dict[str, str | int | float]:
        """The properties as Heap takes them: dotted keys, arrays as JSON, booleans as text."""
        return _flatten(self.properties, "")

    def track_request(self, user_id: str, message_id: str) -> track_pb2.TrackEventRequest:
        request = track_pb2.TrackEventRequest(
            config=config_pb2.DestinationConfig(app_id=APP_ID),
            user_id=user_id,
            event=self.event,
            message_id=message_id,
        )
        request.properties.CopyFrom(_struct(self.properties))
        return request

    def stream_messages(
        self, ids: list[str], identities: int, per_message: int
    ) -> list[stream_pb2.StreamEventsRequest]:
        """The events `ids` (each its own message_id) in messages of `per_message` events."""
        template = self.track_request("", "")
        template.ClearField("config")
        messages = []
        for start in range(0, len(ids), per_message):
            message = stream_pb2.StreamEventsRequest()
            for index in range(start, min(start + per_message, len(ids))):
                event = message.events.add(id=ids[index])
                event.track.CopyFrom(template)
                event.track.user_id = user_id(index, identities)
                event.track.message_id = ids[index]
            messages.append(message)
        messages[0].config.app_id = APP_ID
        return messages


PAYLOADS = (
    Payload("example", "Signed Up", FLATTENING_EXAMPLE),
    Payload("large", "Checkout Completed", _large_properties()),
)


def user_id(index: int, identities: int) -> str:
    return f"user-{index % identities}"


def _struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


def _flatten(values: Mapping[str, Any], prefix: str) -> dict[str, str | int | float]:
    flat: dict[str, str | int | float] = {}
    for key, value in sorted(values.items()):
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{path}."))
        elif isinstance(value, list):
            flat[path] = json.dumps(
                value, separators=(",", ":"), sort_keys=True, ensure_ascii=False
            )
        elif isinstance(value, bool):
            flat[path] = "true" if value else "false"
        else:
            flat[path] = value
    return flat
