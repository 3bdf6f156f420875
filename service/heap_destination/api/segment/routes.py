"""The Segment-compatible HTTP routes: /v1/batch (and its old name /v1/import), the single
calls /v1/track, /v1/identify, /v1/page, /v1/screen, /v1/group and /v1/alias, and
GET /healthz.

Each request is counted per route and status and is a server span when tracing is on.
Logs carry no property values. Nothing a caller sends is answered 500: a failure the
service did not expect is logged and answered 503, which the SDKs retry.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from opentelemetry.propagate import extract
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from heap_destination.api.segment.intake import Reply, SegmentIntake
from heap_destination.api.unary_calls import OVERLOADED_RETRY_AFTER
from heap_destination.metrics import HTTP_REQUESTS

log = logging.getLogger(__name__)

ROUTES: dict[str, str | None] = {
    "/v1/batch": None,
    "/v1/import": None,
    "/v1/track": "track",
    "/v1/identify": "identify",
    "/v1/page": "page",
    "/v1/screen": "screen",
    "/v1/group": "group",
    "/v1/alias": "alias",
}
HEALTH_ROUTE = "/healthz"
BODY_READ_SECONDS = 10.0
"""A body must arrive within this (then 408, which the SDKs retry), so a slow sender
holds a request's place no longer."""
_UNEXPECTED_RETRY_AFTER = 1.0

# A request line (its URL) and each header line may be at most this long; a request may
# have at most this many headers. Longer ones are answered 400 by aiohttp itself.
MAX_LINE_BYTES = 8 * 1024
MAX_HEADERS = 64
SERVER_OPTIONS: dict[str, Any] = {
    "max_line_size": MAX_LINE_BYTES,
    "max_field_size": MAX_LINE_BYTES,
    "max_headers": MAX_HEADERS,
    # Inflated by the intake itself, within its cap (body.py).
    "auto_decompress": False,
    # No access log: the metrics count requests, and a log line per request is noise.
    "access_log": None,
}
"""How the server that runs segment_app must handle requests (AppRunner's options)."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


def segment_app(
    intake: SegmentIntake,
    serving: Callable[[], bool],
    tracer: Tracer | None,
    max_body_bytes: int,
    max_requests: int,
) -> web.Application:
    """The application; `serving` tells whether gRPC health is SERVING, `max_body_bytes`
    bounds a request's body as sent (before it is inflated), `max_requests` the requests
    answered at once (more are answered 429)."""
    app = web.Application(
        client_max_size=max_body_bytes,
        middlewares=[_observed(tracer)],  # type: ignore[list-item]
    )
    bounds = _Bounds(max_body_bytes, max_requests)
    for path, route_type in ROUTES.items():
        handler = _route(intake, route_type, bounds)
        app.router.add_post(path, handler)
        # analytics-java's endpoint(HOST) posts to HOST/v1/import/, with the slash.
        app.router.add_post(path + "/", handler)
    app.router.add_get(HEALTH_ROUTE, _health(serving))
    return app


@dataclass
class _Bounds:
    """What requests may hold at once: each its body as sent, and so many in all."""

    max_body_bytes: int
    max_requests: int
    requests: int = 0


def _route(intake: SegmentIntake, route_type: str | None, bounds: _Bounds) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        if bounds.requests >= bounds.max_requests:
            return _json(_too_many(bounds.max_requests))
        bounds.requests += 1
        try:
            return _json(await _taken(request, intake, route_type, bounds.max_body_bytes))
        finally:
            bounds.requests -= 1

    return handle


async def _taken(
    request: web.Request, intake: SegmentIntake, route_type: str | None, max_body_bytes: int
) -> Reply:
    try:
        async with asyncio.timeout(BODY_READ_SECONDS):
            raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return Reply(
            400,
            {
                "success": False,
                "code": "bad_request",
                "message": f"the body is over {max_body_bytes} bytes as sent "
                "(Segment's request limit is 500 KB)",
            },
        )
    except TimeoutError:
        return Reply(
            408,
            {
                "success": False,
                "code": "request_timeout",
                "message": f"the body did not arrive within {BODY_READ_SECONDS:.0f} s",
            },
        )
    return await intake.take(
        route_type,
        raw,
        request.headers.get("Content-Encoding", ""),
        request.headers.get("Authorization"),
    )


def _too_many(max_requests: int) -> Reply:
    return Reply(
        429,
        {
            "success": False,
            "code": "overloaded",
            "message": f"the service is answering {max_requests} HTTP requests already",
        },
        OVERLOADED_RETRY_AFTER,
    )


def _health(serving: Callable[[], bool]) -> Handler:
    async def health(request: web.Request) -> web.StreamResponse:
        if serving():
            return web.json_response({"status": "SERVING"})
        return web.json_response({"status": "NOT_SERVING"}, status=503)

    return health


def _json(reply: Reply) -> web.Response:
    headers = {}
    if reply.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(reply.retry_after)))
    return web.json_response(reply.body, status=reply.status, headers=headers)


def _observed(
    tracer: Tracer | None,
) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """Counts each request per route and status, makes it a server span (in the caller's
    trace when a traceparent header carries one), and answers a failure nothing expected
    with 503."""

    @web.middleware
    async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path.rstrip("/")
        route = path if path in ROUTES or path == HEALTH_ROUTE else "other"
        if tracer is None:
            response = await _answered(request, handler)
        else:
            with tracer.start_as_current_span(
                f"{request.method} {route}",
                context=extract(request.headers),
                kind=SpanKind.SERVER,
                attributes={"http.request.method": request.method, "http.route": route},
            ) as span:
                response = await _answered(request, handler)
                span.set_attribute("http.response.status_code", response.status)
                if response.status >= 500:
                    span.set_status(Status(StatusCode.ERROR))
        HTTP_REQUESTS.labels(route, str(response.status)).inc()
        return response

    return observe


async def _answered(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as error:  # 404, 405: aiohttp's own answers
        return web.json_response(
            {
                "success": False,
                "code": "not_found" if error.status == 404 else "bad_request",
                "message": error.reason,
            },
            status=error.status,
        )
    except Exception:
        log.exception("a Segment request failed unexpectedly", extra={"route": request.path})
        return _json(
            Reply(
                503,
                {
                    "success": False,
                    "code": "internal",
                    "message": "the service failed unexpectedly; send the request again",
                },
                _UNEXPECTED_RETRY_AFTER,
            )
        )
