"""The unary floor: a bare grpc.aio servicer for HeapDestinationService.TrackEvent that
decodes the request and answers an empty TrackEventResponse, with nothing else (no
interceptors, no validation, no Heap). What gRPC itself costs per unary call on this
machine; `make bench` drives it exactly as it drives the service's unary rows.

    python -m benchmarks.floor_server     (prints "unary floor listening on 127.0.0.1:PORT")
"""

import asyncio

import grpc

from heap_destination.v1 import service_pb2_grpc, track_pb2


class FloorServicer(service_pb2_grpc.HeapDestinationServiceServicer):
    async def TrackEvent(
        self, request: track_pb2.TrackEventRequest, context: grpc.aio.ServicerContext
    ) -> track_pb2.TrackEventResponse:
        return track_pb2.TrackEventResponse()


async def serve() -> None:
    server = grpc.aio.server()
    service_pb2_grpc.add_HeapDestinationServiceServicer_to_server(FloorServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"unary floor listening on 127.0.0.1:{port}", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(serve())
