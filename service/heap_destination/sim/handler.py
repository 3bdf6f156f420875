"""HTTP plumbing: reads each request's body, routes it, and writes the answer (kept alive)."""

from __future__ import annotations

from aiohttp import hdrs, web

from heap_destination.sim.control_api import CONTROL_ROUTES
from heap_destination.sim.deletion_api import answer_deletion_request, deletion_route
from heap_destination.sim.deletion_validation import DELETION_STATUS_PATH
from heap_destination.sim.heap_api import answer_heap_request
from heap_destination.sim.replies import Reply, error_reply
from heap_destination.sim.state import SimulatorState
from heap_destination.sim.validation import HEAP_PATHS

SERVER_NAME = "HeapSimulator/1.0"


class SimulatorHandler:
    """Answers every request of an `aiohttp.web.Server` from `state`, which a reset
    replaces; a request being answered keeps the state it started on."""

    def __init__(self, state: SimulatorState) -> None:
        self.state = state

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        state = self.state
        if "chunked" in request.headers.get(hdrs.TRANSFER_ENCODING, "").lower():
            message = "chunked bodies are not supported; send Content-Length"
            return _response(error_reply(411, message), keep_alive=False)
        try:
            if request.headers.get(hdrs.EXPECT, "").lower() == "100-continue":
                # curl asks so before a large body, and waits a second for the answer.
                await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                request.writer.output_size = 0
            # Read whole, with no size limit of its own: validation refuses what Heap refuses.
            raw_body = await request.content.read()
        except ConnectionError:
            reply = None  # the client hung up mid-body: no one to answer
        else:
            reply = await _answer(state, request, raw_body)
        if reply is None:
            _drop_connection(request)
            # Writing it fails on the closed connection, which aiohttp takes as a hang-up.
            return web.Response(status=204)
        return _response(reply)


async def _answer(state: SimulatorState, request: web.BaseRequest, raw_body: bytes) -> Reply | None:
    """The answer, or None when the connection must be dropped."""
    method, path = request.method, request.rel_url.raw_path
    route = deletion_route(path)
    if route is not None:
        allowed = "GET" if route == DELETION_STATUS_PATH else "POST"
        if method != allowed:
            return _method_not_allowed([allowed])
        authorization = request.headers.get(hdrs.AUTHORIZATION, "")
        return await answer_deletion_request(state, route, path, authorization, raw_body)
    if path in HEAP_PATHS:
        if method != "POST":
            return _method_not_allowed(["POST"])
        return await answer_heap_request(state, path, raw_body)
    routes = CONTROL_ROUTES.get(path)
    if routes is None:
        return error_reply(404, f"no such endpoint: {path}")
    if method not in routes:
        return _method_not_allowed(list(routes))
    return routes[method](state, raw_body)


def _response(reply: Reply, keep_alive: bool = True) -> web.Response:
    headers = {hdrs.SERVER: SERVER_NAME, **reply.headers}
    if reply.body is not None:
        headers[hdrs.CONTENT_TYPE] = "application/json"
    if not keep_alive:
        headers[hdrs.CONNECTION] = "close"
    response = web.Response(status=reply.status, body=reply.payload(), headers=headers)
    if not keep_alive:
        response.force_close()
    return response


def _drop_connection(request: web.BaseRequest) -> None:
    """Closes the connection with no answer."""
    protocol = request.protocol
    if isinstance(protocol, web.RequestHandler):
        protocol.force_close()
    elif request.transport is not None:
        request.transport.close()


def _method_not_allowed(allowed: list[str]) -> Reply:
    return error_reply(405, "method not allowed", {"Allow": ", ".join(allowed)})
