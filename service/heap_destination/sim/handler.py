"""HTTP plumbing: reads requests, routes them, and writes the answers with keep-alive."""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from heap_destination.sim.control_api import CONTROL_ROUTES
from heap_destination.sim.deletion_api import answer_deletion_request, deletion_route
from heap_destination.sim.deletion_validation import DELETION_STATUS_PATH
from heap_destination.sim.heap_api import answer_heap_request
from heap_destination.sim.replies import Reply, error_reply
from heap_destination.sim.state import SimulatorState
from heap_destination.sim.validation import HEAP_PATHS

logger = logging.getLogger(__name__)


class SimulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 resets connections when clients open many at once.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], state: SimulatorState) -> None:
        super().__init__(address, SimulatorRequestHandler)
        self.state = state
        self._connections_lock = threading.Lock()
        self._connections: set[socket.socket] = set()

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def forget(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer (a timeout, a test ending) is normal for a
        server; anything else is printed as socketserver does."""
        if isinstance(sys.exception(), ConnectionError):
            logger.debug("client %s hung up", client_address)
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Ends kept-alive connections, which would otherwise outlive the server."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class SimulatorRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "HeapSimulator/1.0"
    # Headers and body go out in separate writes; with Nagle's algorithm on, the client's
    # delayed ACK would hold each answer back by about 40 ms.
    disable_nagle_algorithm = True

    @property
    def simulator(self) -> SimulatorHTTPServer:
        assert isinstance(self.server, SimulatorHTTPServer)
        return self.server

    def setup(self) -> None:
        super().setup()
        self.simulator.track(self.connection)

    def finish(self) -> None:
        self.simulator.forget(self.connection)
        super().finish()

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def _dispatch(self, method: str) -> None:
        raw_body = self._read_body()
        if raw_body is None:
            return
        path = urlsplit(self.path).path
        route = deletion_route(path)
        if route is not None:
            self._answer_deletion(method, route, path, raw_body)
            return
        if path in HEAP_PATHS:
            if method != "POST":
                self._send(_method_not_allowed(["POST"]))
                return
            reply = answer_heap_request(self.simulator.state, path, raw_body)
            if reply is None:
                self._drop_connection()
            else:
                self._send(reply)
            return
        routes = CONTROL_ROUTES.get(path)
        if routes is None:
            self._send(error_reply(404, f"no such endpoint: {path}"))
        elif method not in routes:
            self._send(_method_not_allowed(list(routes)))
        else:
            self._send(routes[method](self.simulator.state, raw_body))

    def _answer_deletion(self, method: str, route: str, path: str, raw_body: bytes) -> None:
        allowed = "GET" if route == DELETION_STATUS_PATH else "POST"
        if method != allowed:
            self._send(_method_not_allowed([allowed]))
            return
        authorization = self.headers.get("Authorization", "")
        reply = answer_deletion_request(self.simulator.state, route, path, authorization, raw_body)
        if reply is None:
            self._drop_connection()
        else:
            self._send(reply)

    def _read_body(self) -> bytes | None:
        """Reads the whole body, so the connection can carry the next request; None if unable."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._send(error_reply(411, "chunked bodies are not supported; send Content-Length"))
            return None
        length_header = self.headers.get("Content-Length", "0")
        try:
            length = int(length_header)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self._send(error_reply(400, f"invalid Content-Length: {length_header}"))
            return None
        return self.rfile.read(length)

    def _send(self, reply: Reply) -> None:
        payload = reply.payload()
        self.send_response(reply.status)
        if reply.body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _drop_connection(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def _method_not_allowed(allowed: list[str]) -> Reply:
    return error_reply(405, "method not allowed", {"Allow": ", ".join(allowed)})
