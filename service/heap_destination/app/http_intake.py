"""The Segment-compatible HTTP intake's server (aiohttp), on the service's event loop, with
the same TLS and, as one of several `--workers`, the same shared port (SO_REUSEPORT; a
single process binds its port alone)."""

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
from heap_destination.app.ports import AddressInUse, is_in_use_error
from heap_destination.app.settings import ServiceSettings
from heap_destination.app.tls import TlsFiles
from heap_destination.app.tokens import TokenStore
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
    ssl_context: ssl.SSLContext | None = None
    """Its TLS, loaded again on SIGHUP (for new connections)."""

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
    ssl_context = _ssl_context(settings.tls) if settings.tls is not None else None
    host, _, port = settings.http_listen.rpartition(":")
    site = web.TCPSite(
        runner,
        host.strip("[]"),
        int(port),
        ssl_context=ssl_context,
        # Only among this process's own workers (see app/ports.py).
        reuse_port=settings.workers > 1,
    )
    try:
        await site.start()
    except OSError as error:
        await runner.cleanup()
        if is_in_use_error(error):
            raise AddressInUse("--http-listen", settings.http_listen) from None
        raise OSError(f"cannot listen on {settings.http_listen}: {error.strerror}") from error
    bound = runner.addresses[0][1] if runner.addresses else int(port)
    log.info(
        "Segment-compatible HTTP intake listening on %s:%d (200 means %s; %s)",
        host,
        bound,
        settings.http_acks.value,
        write_keys_line(settings.tokens, settings.defaults.app_id),
        extra={"tls": settings.tls is not None},
    )
    return HttpIntake(runner, bound, ssl_context)


def write_keys_line(tokens: TokenStore | None, default_app_id: str | None) -> str:
    """How many tokens can serve as write keys (see api/segment/write_keys.py)."""
    if tokens is None:
        return "no tokens: any write key sends to the default app_id"
    callers = tokens.callers()
    usable = sum(not isinstance(key_app_id(caller, default_app_id), WrongKey) for caller in callers)
    return f"{usable} of {len(callers)} tokens can serve as write keys"


def _ssl_context(files: TlsFiles) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(files.cert, files.key)
    if files.client_ca is not None:
        context.load_verify_locations(files.client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context
