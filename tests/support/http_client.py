"""A small HTTP/1.1 client on the standard library, for tests that talk to the simulator
or a metrics endpoint: one kept-alive connection per client, as an HTTP client keeps."""

import base64
import http.client
import json as json_module
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


class TransportError(Exception):
    """No answer came: the connection could not be made, or failed before the answer."""


@dataclass(frozen=True)
class Response:
    status_code: int
    headers: http.client.HTTPMessage
    """Looked up without regard to case."""
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def json(self) -> Any:
        return json_module.loads(self.content)

    def raise_for_status(self) -> None:
        if not self.is_success:
            raise AssertionError(f"HTTP {self.status_code}: {self.text[:500]}")


class HttpClient:
    """Requests to one origin (`base_url`, e.g. http://127.0.0.1:8787) on one connection,
    kept alive between them and opened again after a failure."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname or parts.path.strip("/"):
            raise ValueError(f"{base_url!r}: give http://HOST:PORT")
        self._connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> Response:
        """`json`: a body sent as JSON; `content`: a body sent as it is; `auth`: HTTP
        Basic auth (user, password). Raises TransportError when no answer came."""
        sent = dict(headers or {})
        body = content
        if json is not None:
            body = json_module.dumps(json).encode()
            sent.setdefault("content-type", "application/json")
        if auth is not None:
            basic = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            sent["authorization"] = f"Basic {basic}"
        try:
            self._connection.request(method, path, body=body, headers=sent)
            response = self._connection.getresponse()
            answer = Response(response.status, response.headers, response.read())
        except (OSError, http.client.HTTPException) as error:
            self._connection.close()
            raise TransportError(f"{method} {path}: {type(error).__name__} {error}") from error
        if response.will_close:
            self._connection.close()
        return answer

    def get(self, path: str, **options: Any) -> Response:
        return self.request("GET", path, **options)

    def post(self, path: str, **options: Any) -> Response:
        return self.request("POST", path, **options)

    def put(self, path: str, **options: Any) -> Response:
        return self.request("PUT", path, **options)

    def delete(self, path: str, **options: Any) -> Response:
        return self.request("DELETE", path, **options)

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> "HttpClient":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def request(method: str, url: str, **options: Any) -> Response:
    """One request to a full URL, on a connection of its own."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    with HttpClient(f"{parts.scheme}://{parts.netloc}") as client:
        return client.request(method, path, **options)


def get(url: str, **options: Any) -> Response:
    return request("GET", url, **options)


def post(url: str, **options: Any) -> Response:
    return request("POST", url, **options)


def delete(url: str, **options: Any) -> Response:
    return request("DELETE", url, **options)
