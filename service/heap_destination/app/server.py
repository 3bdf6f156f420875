"""The gRPC server, its delivery engine, health and reflection, started and stopped as one."""

import asyncio
import contextlib
import logging
import os
import signal
import time
from dataclasses import dataclass

import aiohttp
import grpc
from grpc_health.v1 import health, health_pb2_grpc
from opentelemetry.instrumentation.grpc import aio_server_interceptor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Tracer

from heap_destination.api.admin.servicer import DeliveryAdminServicer
from heap_destination.api.deletion.servicer import UserDeletionServicer
from heap_destination.api.in_flight import InFlightLimit
from heap_destination.api.servicer import HeapDestinationServicer, StreamBounds
from heap_destination.api.structs.properties import WIRE_READER_COMPILED
from heap_destination.app.call_metrics import CallMetricsInterceptor
from heap_destination.app.durable_delivery import DurableDelivery
from heap_destination.app.health_names import LIVENESS_SERVICE, READINESS_SERVICE
from heap_destination.app.health_reasons import SERVING, STARTING, HealthReasons
from heap_destination.app.http_intake import HttpIntake, start_http_intake
from heap_destination.app.interceptors import CallerInterceptor
from heap_destination.app.ports import AddressInUse, is_busy, refuse_busy
from heap_destination.app.reflection import enable_reflection
from heap_destination.app.reload import Reloader
from heap_destination.app.serving_workers import WorkerPlace
from heap_destination.app.settings import ServiceSettings
from heap_destination.app.tls import ServerTls
from heap_destination.app.tracing import tracer_provider_from_env
from heap_destination.delivery.deletion.client import HeapDeletionClient, deletion_base_url
from heap_destination.delivery.engine import DeliveryEngine
from heap_destination.delivery.heap.client import HeapClient, new_http_client
from heap_destination.delivery.request_slots import RequestSlots
from heap_destination.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    deletion_pb2,
    deletion_pb2_grpc,
    service_pb2,
    service_pb2_grpc,
)

log = logging.getLogger(__name__)

SERVICE_NAME = service_pb2.DESCRIPTOR.services_by_name["HeapDestinationService"].full_name
ADMIN_SERVICE_NAME = admin_pb2.DESCRIPTOR.services_by_name["DeliveryAdminService"].full_name
DELETION_SERVICE_NAME = deletion_pb2.DESCRIPTOR.services_by_name["UserDeletionService"].full_name
_HEALTH_NAMES = (READINESS_SERVICE, SERVICE_NAME, ADMIN_SERVICE_NAME, DELETION_SERVICE_NAME)


def server_options(max_message_bytes: int, shared_port: bool = False) -> list[tuple[str, int]]:
    """Chosen deliberately (see docs/operations.md, "Running in production"); `shared_port`
    only among this process's own --workers."""
    return [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        # A stream's messages are read one at a time; without BDP probing gRPC buffers at
        # most its 64 KiB lookahead beyond that, so memory per stream stays bounded.
        ("grpc.http2.bdp_probe", 0),
        # Ping idle connections so dead peers and silently dropped NAT entries are noticed.
        ("grpc.keepalive_time_ms", 60_000),
        ("grpc.keepalive_timeout_ms", 20_000),
        ("grpc.keepalive_permit_without_calls", 1),
        # Let clients keep long streams alive with their own pings, but not flood.
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        # Only a service's own worker processes share its port: gRPC's default (on) would
        # let a second service join a busy port and take half the callers.
        ("grpc.so_reuseport", 1 if shared_port else 0),
    ]


# Seconds streams get, after delivery has drained, to send their last results.
_LAST_RESULTS_TIME = 1.0


@dataclass
class RunningService:
    server: grpc.aio.Server
    engine: DeliveryEngine
    health: health.aio.HealthServicer
    http: aiohttp.ClientSession
    port: int
    durable: DurableDelivery | None
    following_workers: asyncio.Task[None] | None = None
    http_intake: HttpIntake | None = None
    health_reasons: HealthReasons | None = None
    tls: ServerTls | None = None

    async def stop(self, grace: float) -> None:
        """Reports NOT_SERVING, takes no new events, gives pending ones `grace` seconds to
        reach Heap (or be answered as unavailable), lets streams send their last results,
        then stops."""
        started = time.monotonic()
        await self.health.enter_graceful_shutdown()
        if self.following_workers is not None:
            self.following_workers.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.following_workers
        draining = [self.engine.drain(grace)]
        if self.durable is not None:
            draining.append(self.durable.stop_delivering(grace))
        await asyncio.gather(*draining)
        if self.http_intake is not None:
            await self.http_intake.stop()
        await self.server.stop(max(_LAST_RESULTS_TIME, grace - (time.monotonic() - started)))
        if self.durable is not None:
            await self.durable.close()
        await self.http.close()


async def start_service(
    settings: ServiceSettings,
    tracing: TracerProvider | None = None,
    worker: WorkerPlace | None = None,
) -> RunningService:
    """Starts serving on settings.listen (port 0 picks a free port); with `tracing`, each
    call and each request to Heap is a span; as one of several `worker`s, health is
    NOT_SERVING while any of them does not serve."""
    if worker is None:  # workers share their ports: their parent checked them
        refuse_busy("--listen", settings.listen)
        refuse_busy("--http-listen", settings.http_listen)
    http = new_http_client(settings.engine.max_requests)
    slots = RequestSlots(settings.engine.max_requests)
    tracer = None
    interceptors: list[grpc.aio.ServerInterceptor] = [CallerInterceptor(settings.tokens)]
    if tracing is not None:
        tracer = tracing.get_tracer("heap_destination.delivery")
        interceptors.insert(0, aio_server_interceptor(tracer_provider=tracing))  # type: ignore[no-untyped-call]
    if settings.metrics_listen is not None:  # outermost: it sees every call's final code
        interceptors.insert(0, CallMetricsInterceptor())
    engine = DeliveryEngine(HeapClient(http, settings.retry, slots, tracer), settings.engine)
    health_servicer = health.aio.HealthServicer()
    await health_servicer.set(LIVENESS_SERVICE, SERVING)
    health_reasons = HealthReasons(health_servicer, _HEALTH_NAMES)
    durable = None
    if settings.store_url is not None:
        try:
            durable = await DurableDelivery.start(
                settings, settings.store_url, http, slots, tracer, health_reasons
            )
        except BaseException:
            await http.close()
            raise
    in_flight = InFlightLimit(settings.max_in_flight_events, settings.max_in_flight_bytes)
    server = grpc.aio.server(
        interceptors=interceptors,
        options=server_options(settings.max_message_bytes, shared_port=worker is not None),
        maximum_concurrent_rpcs=settings.max_concurrent_calls,
    )
    service_pb2_grpc.add_HeapDestinationServiceServicer_to_server(
        HeapDestinationServicer(
            engine,
            settings.defaults,
            settings.allowed_base_urls,
            in_flight,
            StreamBounds(
                settings.max_in_flight_events_per_stream, settings.max_in_flight_bytes_per_stream
            ),
            durable.intake if durable is not None else None,
        ),
        server,
    )
    admin_pb2_grpc.add_DeliveryAdminServiceServicer_to_server(
        DeliveryAdminServicer(durable.store if durable is not None else None), server
    )
    deletion_pb2_grpc.add_UserDeletionServiceServicer_to_server(
        _deletion_servicer(settings, http, slots, tracer, durable), server
    )
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    enable_reflection(
        [SERVICE_NAME, ADMIN_SERVICE_NAME, DELETION_SERVICE_NAME, health.SERVICE_NAME], server
    )
    try:
        tls = ServerTls(settings.tls) if settings.tls is not None else None
        port = _add_port(server, settings, tls)
    except BaseException:
        if durable is not None:
            await durable.stop_delivering(0)
            await durable.close()
        await http.close()
        raise
    await server.start()
    try:
        http_intake = await start_http_intake(
            settings,
            engine,
            in_flight,
            durable.intake if durable is not None else None,
            lambda: not health_reasons.held and not engine.draining,
            tracing.get_tracer("heap_destination.http") if tracing is not None else None,
        )
    except BaseException:
        await server.stop(0)
        if durable is not None:
            await durable.stop_delivering(0)
            await durable.close()
        await http.close()
        raise
    following_workers = None
    if worker is not None:
        worker.mark_serving()
        await worker.show_in_health(health_reasons)
        following_workers = asyncio.create_task(worker.follow_in_health(health_reasons))
    await health_reasons.update(STARTING, holds=False)
    return RunningService(
        server,
        engine,
        health_servicer,
        http,
        port,
        durable,
        following_workers,
        http_intake,
        health_reasons,
        tls,
    )


def _add_port(server: grpc.aio.Server, settings: ServiceSettings, tls: ServerTls | None) -> int:
    """The port bound; grpc.aio raises RuntimeError when it cannot bind."""
    try:
        if tls is not None:
            port: int = server.add_secure_port(settings.listen, tls.credentials())
        else:
            port = server.add_insecure_port(settings.listen)
    except RuntimeError as error:
        if is_busy(settings.listen):  # taken since it was checked
            raise AddressInUse("--listen", settings.listen) from None
        raise OSError(f"cannot listen on {settings.listen}: {error}") from error
    return port


def _deletion_servicer(
    settings: ServiceSettings,
    http: aiohttp.ClientSession,
    slots: RequestSlots,
    tracer: Tracer | None,
    durable: DurableDelivery | None,
) -> UserDeletionServicer:
    heap = None
    if settings.heap_api_key is not None:
        heap = HeapDeletionClient(
            http,
            slots,
            settings.heap_api_key,
            settings.retry.delivery_timeout,
            tracer=tracer,
        )
    return UserDeletionServicer(
        heap,
        deletion_base_url(settings.defaults.base_url),
        durable.store if durable is not None else None,
    )


async def serve(settings: ServiceSettings, worker: WorkerPlace | None = None) -> None:
    """Serves until SIGINT or SIGTERM, then drains (see RunningService.stop); SIGHUP reads
    the tokens file and the TLS files again (app/reload.py)."""
    tracing = tracer_provider_from_env(os.environ)
    service = await start_service(settings, tracing, worker)
    reloader = Reloader(
        settings,
        service.tls,
        service.http_intake.ssl_context if service.http_intake is not None else None,
    )
    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reloader.reload)
    if worker is not None:
        # Its tokens came from the parent, parsed at the service's start, and a SIGHUP
        # before now was ignored: catch up with the files as they are now.
        reloader.catch_up()
    log.info(
        "Heap destination service listening on %s:%d",
        settings.listen_host,
        service.port,
        extra={
            "tls": settings.tls is not None,
            "authentication": settings.tokens is not None,
            "compiled": WIRE_READER_COMPILED,
        },
    )
    if not WIRE_READER_COMPILED:
        log.warning(
            "the per-event modules run as pure Python (installed without a working C "
            "compiler, or with HEAP_DESTINATION_COMPILE=0): the same behaviour at more CPU "
            "per event; see docs/operations.md"
        )
    if settings.tokens is None:
        log.warning(
            "no tokens configured: any caller that reaches %s:%d may send to Heap",
            settings.listen_host,
            service.port,
        )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    log.info("draining: pending events get %.0f s to reach Heap", settings.grace_period)
    await service.stop(settings.grace_period)
    if tracing is not None:
        tracing.shutdown()
    log.info("stopped")
