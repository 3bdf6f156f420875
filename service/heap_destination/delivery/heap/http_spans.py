"""A client span's attributes for one HTTP request to Heap, by OpenTelemetry's stable HTTP
semantic conventions (`http.request.method`, `url.full`, `server.address`, `server.port`;
the answer's `http.response.status_code`)."""

from urllib.parse import urlsplit

from opentelemetry.semconv.attributes.http_attributes import (
    HTTP_REQUEST_METHOD,
    HTTP_RESPONSE_STATUS_CODE,
)
from opentelemetry.semconv.attributes.server_attributes import SERVER_ADDRESS, SERVER_PORT
from opentelemetry.semconv.attributes.url_attributes import URL_FULL

STATUS_CODE = HTTP_RESPONSE_STATUS_CODE
_DEFAULT_PORTS = {"http": 80, "https": 443}


def request_attributes(method: str, url: str) -> dict[str, str | int]:
    parts = urlsplit(url)
    return {
        HTTP_REQUEST_METHOD: method,
        URL_FULL: url,
        SERVER_ADDRESS: parts.hostname or "",
        SERVER_PORT: parts.port or _DEFAULT_PORTS.get(parts.scheme, 0),
    }
