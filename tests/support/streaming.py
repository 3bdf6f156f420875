"""Driving StreamEvents through a real channel, as a producer would."""

from collections.abc import Callable, Iterable

import grpc

from heap_destination.v1 import service_pb2_grpc, stream_pb2


def stream(
    target: str,
    requests: Iterable[stream_pb2.StreamEventsRequest],
    timeout: float = 120,
    on_first_response: Callable[[], None] | None = None,
) -> list[stream_pb2.EventResult]:
    """Sends the requests over one StreamEvents call; returns every result received."""
    results: list[stream_pb2.EventResult] = []
    with grpc.insecure_channel(target) as channel:
        stub = service_pb2_grpc.HeapDestinationServiceStub(channel)
        for response in stub.StreamEvents(iter(requests), timeout=timeout):
            if not results and on_first_response is not None:
                on_first_response()
            results.extend(response.results)
    return results
