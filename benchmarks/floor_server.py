"""The unary floor: a bare grpc.aio servicer for HeapDestinationService.TrackEvent that
decodes the request and answers an empty TrackEventResponse, with nothing else (no
interceptors, no validation, no Heap). What gRPC itself costs per unary call on this
machine; `make bench` drives it exactly as it drives the service's unary rows.

With --hold-ms it answers each call that long after it came, as a service waiting for
Heap does: what gRPC costs per call when calls stay open as long as the service's.

    python -m benchmarks.floor_server [--hold-ms MS]
        (prints "unary floor listening on 127.0.0.1:PORT")
"""

import argparse
import asyncio

import grpc

from heap_destination.v1 import service_pb2_grpc, track_pb2


class FloorServicer(service_pb2_grpc.HeapDestinationServiceServicer):
    def __init__(self, hold_seconds: float) -> None:
        self._hold_seconds = hold_seconds

    async def TrackEvent(
        self, request: track_pb2.TrackEventRequest, context: grpc.aio.ServicerContext
    ) -> track_pb2.TrackEventResponse:
        if self._hold_seconds:
            await asyncio.sleep(self._hold_seconds)
        return track_pb2.TrackEventResponse()


async def serve(hold_seconds: float) -> None:
    server = grpc.aio.server()
    service_pb2_grpc.add_HeapDestinationServiceServicer_to_server(
        FloorServicer(hold_seconds), server
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"unary floor listening on 127.0.0.1:{port}", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="the bare unary servicer of make bench")
    parser.add_argument("--hold-ms", type=float, default=0.0, help="answer each call after this")
    asyncio.run(serve(parser.parse_args().hold_ms / 1000))
