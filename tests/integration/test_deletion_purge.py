"""DeleteUsers on a server with a durable store: the identities' undelivered stored events
die first, with the deletion as their reason, and never reach Heap."""

from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from heap_destination.client import HeapDestinationClient
from heap_destination.sim import HeapSimulator
from heap_destination.sim.faults import Fault
from heap_destination.v1 import admin_pb2, admin_pb2_grpc, config_pb2, deletion_pb2
from tests.conftest import APP_ID
from tests.integration.deletion_support import API_KEY, deletion_stub
from tests.support.background_service import BackgroundService
from tests.support.wait import wait_until

STORED = config_pb2.DestinationConfig(app_id=APP_ID, ack_mode=config_pb2.ACK_MODE_STORED)


@pytest.fixture
def simulator() -> Iterator[HeapSimulator]:
    with HeapSimulator(api_key=API_KEY) as running:
        yield running


def tracked_identities(simulator: HeapSimulator) -> list[str]:
    return [
        str(event["identity"])
        for request in simulator.accepted()
        if request.path == "/api/track"
        for event in request.body["events"]
    ]


def stored_events(service: BackgroundService, message_id: str) -> list[admin_pb2.StoredEvent]:
    with grpc.insecure_channel(service.target) as channel:
        response = admin_pb2_grpc.DeliveryAdminServiceStub(channel).GetEventStatus(
            admin_pb2.GetEventStatusRequest(message_id=message_id), timeout=10
        )
    return list(response.events)


def test_a_deleted_identitys_stored_event_is_dead_with_the_deletion_and_never_delivered(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService], tmp_path: Path
) -> None:
    service = start_service(
        base_url=simulator.url,
        heap_api_key=API_KEY,
        store_url=f"sqlite:{tmp_path / 'store.db'}",
    )
    simulator.inject(Fault(status=503, path="/api/track", seconds=60))
    with HeapDestinationClient(service.target, config=STORED, timeout=10) as client:
        client.track("Signed Up", user_id="gone", properties={"plan": "secret"}, message_id="m1")
        client.track("Signed Up", user_id="stays", message_id="m2")

    with deletion_stub(service) as stub:
        response = stub.DeleteUsers(
            deletion_pb2.DeleteUsersRequest(app_id=APP_ID, identities=["gone"]), timeout=10
        )
    simulator.clear_faults()
    wait_until(lambda: "stays" in tracked_identities(simulator), timeout=15, interval=0.05)

    assert response.purged_stored_events == 1
    assert [request.users for request in response.deletion_requests] == [1]
    assert "gone" not in tracked_identities(simulator)
    [event] = stored_events(service, "m1")
    assert event.status == admin_pb2.DELIVERY_STATUS_DEAD
    assert "deleted from Heap" in event.last_error
    [delivered] = stored_events(service, "m2")
    assert delivered.status == admin_pb2.DELIVERY_STATUS_DELIVERED


def test_a_server_without_a_store_purges_nothing(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService]
) -> None:
    service = start_service(base_url=simulator.url, heap_api_key=API_KEY)

    with deletion_stub(service) as stub:
        response = stub.DeleteUsers(
            deletion_pb2.DeleteUsersRequest(app_id=APP_ID, identities=["gone"]), timeout=10
        )

    assert response.purged_stored_events == 0
