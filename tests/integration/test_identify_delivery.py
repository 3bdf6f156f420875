"""IdentifyUser through a real gRPC server to the real simulator over HTTP."""

from datetime import UTC, datetime

from google.protobuf import json_format

from heap_destination.client import HeapDestinationClient
from heap_destination.sim import HeapSimulator
from heap_destination.v1 import warnings_pb2
from tests.conftest import APP_ID
from tests.support.simulator_api import accepted, user_property_updates


def test_traits_become_user_properties(
    client: HeapDestinationClient, simulator: HeapSimulator
) -> None:
    response = client.identify(
        user_id="u1",
        anonymous_id="anon-1",
        traits={"email": "ada@example.com", "address": {"city": "Paris"}, "ID": 7},
    )

    [update] = user_property_updates(simulator.url)
    assert update == {
        "app_id": APP_ID,
        "identity": "u1",
        "properties": {
            "email": "ada@example.com",
            "address.city": "Paris",
            "anonymous_id": "anon-1",
        },
    }
    assert json_format.MessageToDict(response.user_properties) == update["properties"]
    assert response.heap_user_id == ""
    assert [(w.key, w.reason) for w in response.warnings] == [
        ("ID", warnings_pb2.PROPERTY_WARNING_REASON_RESERVED_KEY_OMITTED)
    ]


def test_heap_user_id_binds_the_device_to_the_identity(
    client: HeapDestinationClient, simulator: HeapSimulator
) -> None:
    response = client.identify(
        user_id="u1",
        traits={"plan": "pro"},
        heap_user_id="8214321451297839",
        timestamp=datetime(2026, 11, 27, 9, 0, tzinfo=UTC),
    )

    by_path = {r["path"]: r["body"] for r in accepted(simulator.url)}
    assert by_path.keys() == {"/api/v1/identify", "/api/add_user_properties"}
    assert by_path["/api/v1/identify"] == {
        "app_id": APP_ID,
        "identity": "u1",
        "user_id": "8214321451297839",
        "timestamp": "2026-11-27T09:00:00.000Z",
    }
    [update] = user_property_updates(simulator.url)
    assert update["properties"] == {"plan": "pro"}
    assert response.heap_user_id == "8214321451297839"


def test_heap_user_id_alone_only_identifies(
    client: HeapDestinationClient, simulator: HeapSimulator
) -> None:
    client.identify(user_id="u1", heap_user_id="42")

    assert [r["path"] for r in accepted(simulator.url)] == ["/api/v1/identify"]
