"""User deletion between a service process and a simulator process, each given its key the
way docs/operations.md says; neither process ever prints a key."""

import base64
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from heap_destination.client import error_details
from heap_destination.v1 import deletion_pb2, deletion_pb2_grpc
from tests.support.processes import COMMAND, Process, free_address, start_service

APP_ID = "1234567890"
SIMULATOR_KEY = "simulator-key-0c3e7a91"
WRONG_KEY = "wrong-service-key-66d2"
SERVICE = "heap_destination.v1.UserDeletionService"


@pytest.fixture
def keyed_simulator(tmp_path: Path) -> Iterator[tuple[str, Process]]:
    key_file = tmp_path / "simulator-key"
    key_file.write_text(SIMULATOR_KEY + "\n")
    address = free_address()
    process = Process(
        [COMMAND, "simulate", "--listen", address, "--api-key-file", str(key_file)],
        "Heap simulator listening",
    )
    yield f"http://{address}", process
    process.stop()


def delete_users(address: str) -> deletion_pb2.DeleteUsersResponse | grpc.RpcError:
    with grpc.insecure_channel(address) as channel:
        try:
            response: deletion_pb2.DeleteUsersResponse = deletion_pb2_grpc.UserDeletionServiceStub(
                channel
            ).DeleteUsers(
                deletion_pb2.DeleteUsersRequest(app_id=APP_ID, identities=["alice"]), timeout=10
            )
        except grpc.RpcError as error:
            return error
    return response


def secrets(key: str) -> tuple[str, str]:
    return key, base64.b64encode(f"{APP_ID}:{key}".encode()).decode()


def test_keys_from_a_file_and_the_environment_work_and_never_show_in_the_output(
    keyed_simulator: tuple[str, Process], tmp_path: Path
) -> None:
    simulator_url, simulator = keyed_simulator
    key_file = tmp_path / "service-key"
    key_file.write_text(SIMULATOR_KEY)
    right = start_service(
        free_address(), simulator_url, "--log-level", "debug", "--heap-api-key-file", str(key_file)
    )
    wrong = start_service(
        free_address(), simulator_url, "--log-level", "debug", env={"HEAP_API_KEY": WRONG_KEY}
    )
    try:
        taken = delete_users(right.address())
        refused = delete_users(wrong.address())
        with grpc.insecure_channel(right.address()) as channel:
            services = ProtoReflectionDescriptorDatabase(channel).get_services()
            health = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=SERVICE), timeout=5
            )
    finally:
        right.stop()
        wrong.stop()

    assert isinstance(taken, deletion_pb2.DeleteUsersResponse)
    assert [request.users for request in taken.deletion_requests] == [1]
    assert isinstance(refused, grpc.RpcError)
    assert error_details(refused).code == grpc.StatusCode.FAILED_PRECONDITION
    assert SERVICE in services
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    output = "".join(right.lines + wrong.lines + simulator.lines)
    assert "users submitted to Heap for deletion" in output
    for secret in secrets(SIMULATOR_KEY) + secrets(WRONG_KEY):
        assert secret not in output
