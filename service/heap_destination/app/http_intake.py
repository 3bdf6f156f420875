"""The Segment-compatible HTTP intake's server (aiohttp), on the service's event loop, with
the same TLS and, as one of several `--workers`, the same shared port (SO_REUSEPORT)."""

import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from opentelemetry.trace import Tracer

from heap_destination.api.in_flight import InFlightLimit
from heap_destination.api.segment.body import MAX_REQUEST_BYTES
from heap_destination.api.segment.intake import SegmentIntake
from heap_destination.api.segment.routes import SERVER_OPTIONS, segment_app
from heap_destination.api.segment.write_keys import WriteKeys, WrongKey, key_app_id
from heap_destination.app.settings import ServiceSettings
from heap_destination.app.tls import TlsFiles
from heap_destination.delivery.engine import DeliveryEngine
from heap_destination.durable.intake import StoredIntake

log = logging.getLogger(__name__)

# The body as sent: a gzip body inflates to more, checked within MAX_REQUEST_BYTES
# while it is inflated (api/segment/body.py).
MAX_SENT_BODY_BYTES = MAX_REQUEST_BYTES
# Seconds requests being answered get when the service stops (after delivery drained).
_CLOSE_TIME = 1.0


@dataclass
class HttpIntake:
    runner: web.AppRunner
    port: int

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_http_intake(
    settings: ServiceSettings,
    engine: DeliveryEngine,
    in_flight: InFlightLimit,
    stored_intake: StoredIntake | None,
    serving: Callable[[], bool],
    tracer: Tracer | None,
) -> HttpIntake | None:
    """Starts the intake on settings.http_listen (None: off; port 0 picks a free port)."""
    if settings.http_listen is None:
        return None
    tokens = settings.tokens
    intake = SegmentIntake(
        engine,
        settings.defaults,
        settings.allowed_base_urls,
        in_flight,
        stored_intake,
        WriteKeys(tokens.caller if tokens is not None else None, settings.defaults.app_id),
        settings.http_acks,
    )
    app = segment_app(intake, serving, tracer, MAX_SENT_BODY_BYTES, settings.max_concurrent_calls)
    runner = web.AppRunner(
        app, handle_signals=False, shutdown_timeout=_CLOSE_TIME, **SERVER_OPTIONS
    )
    await runner.setup()
    host, _, port = settings.http_listen.rpartition(":")
    site = web.TCPSite(
        runner,
        host.strip("[]"),
        int(port),
        ssl_context=_ssl_context(settings.tls) if settings.tls is not None else None,
        reuse_port=settings.workers > 1,
    )
    try:
        await site.start()
    except OSError as error:
        await runner.cleanup()
        raise OSError(f"cannot listen on {settings.http_listen}: {error.strerror}") from error
    bound = runner.addresses[0][1] if runner.addresses else int(port)
    log.info(
        "Segment-compatible HTTP intake listening on %s:%d (200 means %s; %s)",
        host,
        bound,
        settings.http_acks.value,
        _write_keys_line(settings),
        extra={"tls": settings.tls is not None},
    )
    return HttpIntake(runner, bound)


def _write_keys_line(settings: ServiceSettings) -> str:
    """How many tokens can serve as write keys (see api/segment/write_keys.py)."""
    if settings.tokens is None:
        return "no tokens: any write key sends to the default app_id"
    callers = settings.tokens.callers()
    usable = sum(
        not isinstance(key_app_id(caller, settings.defaults.app_id), WrongKey) for caller in callers
    )
    return f"{usable} of {len(callers)} tokens can serve as write keys"


def _ssl_context(files: TlsFiles) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(files.cert, files.key)
    if files.client_ca is not None:
        context.load_verify_locations(files.client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context
