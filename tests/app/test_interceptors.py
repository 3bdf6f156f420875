"""The interceptor's handling of calls, without a network: who calls, and how a call's
scope ends however gRPC ends it."""

import asyncio
import contextvars
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from heap_destination.api.caller import CURRENT_CALLER
from heap_destination.app.interceptors import CallerInterceptor, _bearer_token

METHOD = "/heap_destination.v1.HeapDestinationService/StreamEvents"


class FakeContext:
    def code(self) -> None:
        return None


class Details:
    method = METHOD
    invocation_metadata = (("x-request-id", "r1"),)


async def _streaming(requests: AsyncIterator[Any], context: Any) -> AsyncIterator[str]:
    while True:
        yield f"caller {CURRENT_CALLER.get()}"


async def _continuation(details: Any) -> grpc.RpcMethodHandler:
    return grpc.stream_stream_rpc_method_handler(_streaming)


async def _no_requests() -> AsyncIterator[Any]:
    return
    yield


async def test_a_stream_abandoned_mid_way_can_be_closed_from_another_context() -> None:
    """gRPC leaves a stream's response generator suspended when a deadline ends the call;
    the event loop later closes it from a task of its own, in another context."""
    handler = await CallerInterceptor(None).intercept_service(_continuation, Details())
    responses = handler.stream_stream(_no_requests(), FakeContext())
    assert await responses.__anext__() == "caller None"

    closing = asyncio.get_running_loop().create_task(
        responses.aclose(), context=contextvars.Context()
    )

    await closing  # raised ValueError ("created in a different Context") before


@pytest.mark.parametrize(
    ("metadata", "token"),
    [
        ((("authorization", "Bearer abc"),), "abc"),
        ((("authorization", "bearer  abc "),), "abc"),
        ((("authorization", "Bearer abc"), ("authorization", "Bearer abc")), ""),
        ((("authorization", "Bearer abc"), ("authorization", "Bearer other")), ""),
        ((("authorization", "Basic abc"),), ""),
        ((), ""),
    ],
)
def test_only_one_bearer_authorization_header_yields_a_token(metadata: Any, token: str) -> None:
    assert _bearer_token(metadata) == token
