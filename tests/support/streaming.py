"""Driving StreamEvents through a real channel, as a producer would."""

from collections.abc import Callable, Iterable

import grpc

from heap_destination.v1 import errors_pb2, service_pb2_grpc, stream_pb2


def stream(
    target: str,
    requests: Iterable[stream_pb2.StreamEventsRequest],
    timeout: float = 120,
    on_first_response: Callable[[], None] | None = None,
) -> list[stream_pb2.EventResult]:
    """Sends the requests over one StreamEvents call; returns every result received.

    Checks what every result promises a client that switches on the typed reason: an
    error carries its ErrorReason (the same as its string reason), OK carries none."""
    results: list[stream_pb2.EventResult] = []
    with grpc.insecure_channel(target) as channel:
        stub = service_pb2_grpc.HeapDestinationServiceStub(channel)
        for response in stub.StreamEvents(iter(requests), timeout=timeout):
            if not results and on_first_response is not None:
                on_first_response()
            results.extend(response.results)
    for result in results:
        typed = errors_pb2.ErrorReason.Name(result.error_reason).removeprefix("ERROR_REASON_")
        expected = result.reason or "UNSPECIFIED"
        assert typed == expected and (result.code == 0) == (expected == "UNSPECIFIED"), result
    return results
