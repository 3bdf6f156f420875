"""The gRPC server with its delivery engine, started and stopped as one unit."""

import asyncio
import logging
import signal
import time
from dataclasses import dataclass

import grpc
import httpx

from heap_destination.api.servicer import HeapDestinationServicer
from heap_destination.app.settings import ServiceSettings
from heap_destination.delivery.engine import DeliveryEngine
from heap_destination.delivery.heap_client import HeapClient, new_http_client
from heap_destination.delivery.in_flight import InFlightLimit
from heap_destination.v1 import service_pb2_grpc

log = logging.getLogger(__name__)

# Seconds streams get, after delivery has drained, to send their last results.
_LAST_RESULTS_TIME = 1.0


@dataclass
class RunningService:
    server: grpc.aio.Server
    engine: DeliveryEngine
    http: httpx.AsyncClient
    port: int

    async def stop(self, grace: float) -> None:
        """Takes no new events, gives pending ones `grace` seconds to reach Heap (or be
        answered as unavailable), lets streams send their last results, then stops."""
        started = time.monotonic()
        await self.engine.drain(grace)
        await self.server.stop(max(_LAST_RESULTS_TIME, grace - (time.monotonic() - started)))
        await self.http.aclose()


async def start_service(settings: ServiceSettings) -> RunningService:
    """Starts serving on settings.listen (port 0 picks a free port)."""
    http = new_http_client(settings.retry)
    engine = DeliveryEngine(HeapClient(http, settings.retry), settings.engine)
    server = grpc.aio.server()
    service_pb2_grpc.add_HeapDestinationServiceServicer_to_server(
        HeapDestinationServicer(
            engine,
            settings.defaults,
            InFlightLimit(settings.max_in_flight_events),
            settings.max_in_flight_events_per_stream,
        ),
        server,
    )
    try:
        port = server.add_insecure_port(settings.listen)
    except RuntimeError as error:
        await http.aclose()
        raise OSError(f"cannot listen on {settings.listen}: {error}") from error
    await server.start()
    return RunningService(server, engine, http, port)


async def serve(settings: ServiceSettings) -> None:
    """Serves until SIGINT or SIGTERM, then drains (see RunningService.stop)."""
    service = await start_service(settings)
    host = settings.listen.rpartition(":")[0]
    log.info("Heap destination service listening on %s:%d", host, service.port)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    log.info("draining: pending events get %.0f s to reach Heap", settings.grace_period)
    await service.stop(settings.grace_period)
    log.info("stopped")
