"""The gRPC server with its Heap delivery, started and stopped as one unit."""

import asyncio
import logging
import signal
from dataclasses import dataclass

import grpc
import httpx

from heap_destination.api.servicer import HeapDestinationServicer
from heap_destination.app.settings import ServiceSettings
from heap_destination.delivery.heap_client import HeapClient, new_http_client
from heap_destination.delivery.heap_delivery import HeapDelivery
from heap_destination.v1 import service_pb2_grpc

log = logging.getLogger(__name__)


@dataclass
class RunningService:
    server: grpc.aio.Server
    http: httpx.AsyncClient
    port: int

    async def stop(self, grace: float | None) -> None:
        await self.server.stop(grace)
        await self.http.aclose()


async def start_service(settings: ServiceSettings) -> RunningService:
    """Starts serving on settings.listen (port 0 picks a free port)."""
    http = new_http_client(settings.retry)
    delivery = HeapDelivery(HeapClient(http, settings.retry))
    server = grpc.aio.server()
    service_pb2_grpc.add_HeapDestinationServiceServicer_to_server(
        HeapDestinationServicer(delivery, settings.defaults), server
    )
    try:
        port = server.add_insecure_port(settings.listen)
    except RuntimeError as error:
        await http.aclose()
        raise OSError(f"cannot listen on {settings.listen}: {error}") from error
    await server.start()
    return RunningService(server, http, port)


async def serve(settings: ServiceSettings) -> None:
    """Serves until SIGINT or SIGTERM, then lets calls in progress finish."""
    service = await start_service(settings)
    host = settings.listen.rpartition(":")[0]
    log.info("Heap destination service listening on %s:%d", host, service.port)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    log.info("shutting down; calls in progress get %.0f s", settings.grace_period)
    await service.stop(settings.grace_period)
