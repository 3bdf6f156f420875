"""A service with Heap's API key beside a simulator that checks it, and its deletion stub."""

from collections.abc import Iterator
from contextlib import contextmanager

import grpc

from heap_destination.sim import HeapSimulator
from heap_destination.v1 import deletion_pb2_grpc
from tests.support.background_service import BackgroundService

API_KEY = "heap-api-key-5d0e2b7c41"
AUTH_TOKEN = "/api/public/v0/auth_token"
USER_DELETION = "/api/public/v0/user_deletion"


@contextmanager
def deletion_stub(
    service: BackgroundService,
) -> Iterator[deletion_pb2_grpc.UserDeletionServiceStub]:
    with grpc.insecure_channel(service.target) as channel:
        yield deletion_pb2_grpc.UserDeletionServiceStub(channel)


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def requests_to(simulator: HeapSimulator, path: str) -> int:
    return sum(1 for attempt in simulator.attempts() if attempt.path == path)
