"""A local HTTPS stand-in for Heap's CDN: it serves a test page and, for any other path,
a script that writes what the loader's heap.load received into the page."""

import http.server
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.certificates import make_certificates

PAGE_PATH = "/page.html"
OBSERVED_ID = "heap-observed"
# heap.appid and heap.config are the classic loader's names, heap.envId and
# heap.clientConfig the current loader's; JSON.stringify leaves out the ones not set.
STAND_IN_SCRIPT = (
    "(function(){var h=window.heap,p=document.createElement('pre');"
    f"p.id='{OBSERVED_ID}';"
    "p.textContent=JSON.stringify({appid:h.appid,config:h.config,"
    "envId:h.envId,clientConfig:h.clientConfig});"
    "document.body.appendChild(p)})();"
)


@dataclass
class HeapCdnStandIn:
    port: int
    page: str = ""
    # (Host header, path) of each script request, in order.
    script_requests: list[tuple[str, str]] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def page_url(self) -> str:
        return f"https://{self.address}{PAGE_PATH}"


@contextmanager
def heap_cdn_stand_in(folder: Path) -> Iterator[HeapCdnStandIn]:
    certificates = make_certificates(folder)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(certificates.server_cert, certificates.server_key)
    state = HeapCdnStandIn(port=0)

    class Handler(http.server.BaseHTTPRequestHandler):
        timeout = 10  # a connection the browser opened but never used ends on its own

        def do_GET(self) -> None:
            if self.path == PAGE_PATH:
                self._send(state.page, "text/html; charset=utf-8")
            elif self.path.endswith(".js"):
                state.script_requests.append((self.headers.get("Host", ""), self.path))
                self._send(STAND_IN_SCRIPT, "text/javascript")
            else:
                self.send_error(404)

        def _send(self, text: str, content_type: str) -> None:
            body = text.encode()
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # The handshake happens in each connection's own thread, not in the accepting one.
    server.socket = tls.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    state.port = server.server_address[1]
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        serving.join(timeout=10)
