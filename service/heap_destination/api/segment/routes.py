"""The Segment-compatible HTTP routes: /v1/batch (and its old name /v1/import), the single
calls /v1/track, /v1/identify, /v1/page, /v1/screen, /v1/group and /v1/alias, and
GET /healthz.

Each request is counted per route and status and is a server span when tracing is on.
Logs carry no property values. Nothing a caller sends is answered 500: a failure the
service did not expect is logged and answered 503, which the SDKs retry.
"""

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from heap_destination.api.segment.intake import Reply, SegmentIntake
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
_UNEXPECTED_RETRY_AFTER = 1.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


def segment_app(
    intake: SegmentIntake,
    serving: Callable[[], bool],
    tracer: Tracer | None,
    max_body_bytes: int,
) -> web.Application:
    """The application; `serving` tells whether gRPC health is SERVING, `max_body_bytes`
    bounds a request's body as sent (before it is inflated)."""
    app = web.Application(
        client_max_size=max_body_bytes,
        middlewares=[_observed(tracer)],  # type: ignore[list-item]
    )
    for path, route_type in ROUTES.items():
        handler = _route(intake, route_type, max_body_bytes)
        app.router.add_post(path, handler)
        # analytics-java's endpoint(HOST) posts to HOST/v1/import/, with the slash.
        app.router.add_post(path + "/", handler)
    app.router.add_get(HEALTH_ROUTE, _health(serving))
    return app


def _route(intake: SegmentIntake, route_type: str | None, max_body_bytes: int) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _json(
                Reply(
                    400,
                    {
                        "success": False,
                        "code": "bad_request",
                        "message": f"the body is over {max_body_bytes} bytes as sent "
                        "(Segment's request limit is 500 KB)",
                    },
                )
            )
        reply = await intake.take(
            route_type,
            raw,
            request.headers.get("Content-Encoding", ""),
            request.headers.get("Authorization"),
        )
        return _json(reply)

    return handle


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
    """Counts each request per route and status, makes it a server span, and answers a
    failure nothing expected with 503."""

    @web.middleware
    async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path.rstrip("/")
        route = path if path in ROUTES or path == HEALTH_ROUTE else "other"
        if tracer is None:
            response = await _answered(request, handler)
        else:
            with tracer.start_as_current_span(
                f"{request.method} {route}",
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
