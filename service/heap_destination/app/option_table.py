"""The table of the service's settings: flag, environment variable, config-file key,
default, and how each value is parsed (see options.py for the precedence)."""

from typing import Any

from heap_destination.app.options import Option, boolean
from heap_destination.delivery.engine import EngineSettings
from heap_destination.delivery.heap.retry_policy import RetryPolicy
from heap_destination.delivery.limits.rate_limiter import RateLimitSettings
from heap_destination.domain.ack_mode import AckMode
from heap_destination.domain.destination import Region, base_url_problem, normalize_base_url
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.durable.delivery import StoredDeliverySettings

DEFAULT_LISTEN = "127.0.0.1:50051"
TOKENS_ENV = "HEAP_DESTINATION_TOKENS"
TOKENS_FILE_ENV = "HEAP_DESTINATION_TOKENS_FILE"
HEAP_API_KEY_ENV = "HEAP_API_KEY"
HEAP_API_KEY_FILE_ENV = "HEAP_API_KEY_FILE"
DEFAULT_MAX_IN_FLIGHT_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_IN_FLIGHT_BYTES_PER_STREAM = 4 * 1024 * 1024
DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_CONCURRENT_CALLS = 200
DEFAULT_MAX_STORED_EVENTS = 1_000_000
DEFAULT_MAX_STORED_EVENTS_PER_APP = 250_000
DEFAULT_HISTORY_RETENTION = 7 * 24 * 3600.0


def _positive(kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        value = kind(text)
        if value <= 0:
            raise ValueError("must be positive")
        return value

    return parse


def _not_negative(kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        value = kind(text)
        if value < 0:
            raise ValueError("must not be negative")
        return value

    return parse


def _address(text: str) -> str:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError("use host:port")
    return text


def _base_url(text: str) -> str:
    if problem := base_url_problem(text):
        raise ValueError(problem)
    return text


def _base_urls(text: str) -> frozenset[str]:
    urls = [url.strip() for url in text.split(",") if url.strip()]
    for url in urls:
        if problem := base_url_problem(url):
            raise ValueError(f"{url!r} {problem}")
    return frozenset(normalize_base_url(url) for url in urls)


def _metrics_address(text: str) -> str:
    return text if text == "off" else _address(text)


_ENGINE = EngineSettings()
_STORED = StoredDeliverySettings()
_LIMITS = RateLimitSettings()

OPTIONS = [
    Option(
        "listen",
        "HEAP_DESTINATION_LISTEN",
        DEFAULT_LISTEN,
        "gRPC listen address, host:port",
        _address,
    ),
    Option(
        "app_id",
        "HEAP_APP_ID",
        None,
        "default Heap app_id for requests whose config has none",
        in_file=False,
        unset="none: each request names its app_id",
    ),
    Option(
        "region",
        "HEAP_REGION",
        None,
        "default Heap region",
        choices=tuple(r.value for r in Region),
        in_file=False,
        unset="us",
    ),
    Option(
        "base_url",
        "HEAP_BASE_URL",
        None,
        "default Heap base URL, replacing the region's",
        _base_url,
        in_file=False,
        unset="the region's",
    ),
    Option(
        "allowed_base_urls",
        "HEAP_ALLOWED_BASE_URLS",
        None,
        "comma-separated base URLs a request's config may deliver to, besides Heap's regions "
        "and --base-url",
        _base_urls,
        unset="none: requests cannot choose another host",
    ),
    Option(
        "nested_properties_mode",
        "HEAP_NESTED_PROPERTIES_MODE",
        None,
        "default flattening mode",
        choices=tuple(m.value for m in NestedMode),
        in_file=False,
        unset="flatten",
    ),
    Option(
        "anonymous_id_as_identity",
        "HEAP_ANONYMOUS_ID_AS_IDENTITY",
        None,
        "use anonymous_id as the identity when there is no user_id",
        boolean,
        in_file=False,
        unset="false",
    ),
    Option(
        "native_arrays",
        "HEAP_NATIVE_ARRAYS",
        None,
        "send event properties' arrays of strings, numbers and booleans as JSON arrays, "
        "which Heap stores joined by || (flatten mode only)",
        boolean,
        in_file=False,
        unset="false",
    ),
    Option(
        "ack_mode",
        "HEAP_ACK_MODE",
        None,
        "what OK means when a request does not say: delivered (Heap accepted it) or stored "
        "(committed to --store)",
        choices=tuple(m.value for m in AckMode),
        in_file=False,
        unset="delivered",
    ),
    Option(
        "store",
        "HEAP_STORE",
        None,
        "durable store of events taken in ack mode stored: sqlite:PATH or "
        "postgresql://USER@HOST:PORT/DATABASE, or none",
        unset="serve: none; run: sqlite:data/heap-destination.db",
    ),
    Option(
        "store_create",
        "HEAP_STORE_CREATE",
        False,
        "make a new store in an empty (0-byte) SQLite file instead of refusing to start "
        "(run's own store: true)",
        boolean,
    ),
    Option(
        "create_dirs",
        "HEAP_CREATE_DIRS",
        False,
        "make the missing directories of a SQLite store's path instead of refusing to start "
        "(run's own store under data/: made anyway)",
        boolean,
    ),
    Option(
        "max_retry_age",
        "HEAP_MAX_RETRY_AGE",
        _STORED.max_retry_age,
        "seconds after acceptance that a stored event is still retried; then it is dead-lettered",
        _positive(float),
    ),
    Option(
        "split_after_failures",
        "HEAP_SPLIT_AFTER_FAILURES",
        _STORED.split_after_failures,
        "failures (5xx, unreachable) after which a stored batch is split in halves to find "
        "the events that keep failing",
        _positive(int),
    ),
    Option(
        "history_retention",
        "HEAP_HISTORY_RETENTION",
        DEFAULT_HISTORY_RETENTION,
        "seconds the store keeps delivered and dead events (their status and history)",
        _positive(float),
    ),
    Option(
        "max_stored_events",
        "HEAP_MAX_STORED_EVENTS",
        DEFAULT_MAX_STORED_EVENTS,
        "undelivered events the store may hold in all; more are RESOURCE_EXHAUSTED",
        _positive(int),
    ),
    Option(
        "max_stored_events_per_app",
        "HEAP_MAX_STORED_EVENTS_PER_APP",
        DEFAULT_MAX_STORED_EVENTS_PER_APP,
        "undelivered events the store may hold per app_id; more are RESOURCE_EXHAUSTED",
        _positive(int),
    ),
    Option(
        "store_lease",
        "HEAP_STORE_LEASE",
        _STORED.lease_seconds,
        "seconds a claimed batch stays a process's before another may deliver it",
        _positive(float),
    ),
    Option(
        "delivery_timeout",
        "HEAP_DELIVERY_TIMEOUT",
        RetryPolicy.delivery_timeout,
        "seconds a call may spend delivering to Heap, retries included",
        _positive(float),
    ),
    Option(
        "grace_period",
        "HEAP_GRACE_PERIOD",
        10.0,
        "seconds pending events get to reach Heap on shutdown",
        _not_negative(float),
    ),
    Option(
        "batch_linger",
        "HEAP_BATCH_LINGER",
        _ENGINE.linger,
        "seconds a bulk request waits for more events",
        _not_negative(float),
    ),
    Option(
        "max_in_flight_requests",
        "HEAP_MAX_IN_FLIGHT_REQUESTS",
        _ENGINE.max_in_flight_requests,
        "bulk requests out at once, per destination and endpoint",
        _positive(int),
    ),
    Option(
        "max_in_flight_events",
        "HEAP_MAX_IN_FLIGHT_EVENTS",
        50_000,
        "events taken but not yet answered, in all",
        _positive(int),
    ),
    Option(
        "max_in_flight_events_per_stream",
        "HEAP_MAX_IN_FLIGHT_EVENTS_PER_STREAM",
        10_000,
        "events one stream may have unanswered before it stops reading",
        _positive(int),
    ),
    Option(
        "max_in_flight_bytes",
        "HEAP_MAX_IN_FLIGHT_BYTES",
        DEFAULT_MAX_IN_FLIGHT_BYTES,
        "serialized bytes of events taken but not yet answered, in all",
        _positive(int),
    ),
    Option(
        "max_in_flight_bytes_per_stream",
        "HEAP_MAX_IN_FLIGHT_BYTES_PER_STREAM",
        DEFAULT_MAX_IN_FLIGHT_BYTES_PER_STREAM,
        "serialized bytes of events one stream may have unanswered before it stops reading",
        _positive(int),
    ),
    Option(
        "max_message_bytes",
        "HEAP_MAX_MESSAGE_BYTES",
        DEFAULT_MAX_MESSAGE_BYTES,
        "largest request message accepted (a stream message of many events included)",
        _positive(int),
    ),
    Option(
        "max_concurrent_calls",
        "HEAP_MAX_CONCURRENT_CALLS",
        DEFAULT_MAX_CONCURRENT_CALLS,
        "calls (unary and streams) served at once; more are RESOURCE_EXHAUSTED",
        _positive(int),
    ),
    Option(
        "max_requests_to_heap",
        "HEAP_MAX_REQUESTS_TO_HEAP",
        _ENGINE.max_requests,
        "requests to Heap out at once in all, shared fairly between callers and destinations",
        _positive(int),
    ),
    Option(
        "max_destinations",
        "HEAP_MAX_DESTINATIONS",
        _ENGINE.max_destinations,
        "destinations (app_id and base URL) with events in flight at once",
        _positive(int),
    ),
    Option(
        "rate_limit_per_app",
        "HEAP_RATE_LIMIT_PER_APP",
        _LIMITS.events_per_window_per_app,
        "events per window per app_id (0: no limit)",
        _not_negative(int),
    ),
    Option(
        "rate_limit_per_identity",
        "HEAP_RATE_LIMIT_PER_IDENTITY",
        _LIMITS.events_per_window_per_identity,
        "events per window per identity within an app_id (0: no limit)",
        _not_negative(int),
    ),
    Option(
        "rate_limit_window",
        "HEAP_RATE_LIMIT_WINDOW",
        _LIMITS.window_seconds,
        "seconds the rate limits count over",
        _positive(float),
    ),
    Option(
        "single_event_requests",
        "HEAP_SINGLE_EVENT_REQUESTS",
        True,
        "past an app's bulk budget, send events of identities with room as single-event "
        "requests (Heap's limit: 30 per 30 s per identity); off: bulk only",
        boolean,
    ),
    Option(
        "tokens_file",
        TOKENS_FILE_ENV,
        None,
        f"JSON file of bearer tokens (or the JSON itself in {TOKENS_ENV})",
        unset="none: no caller authenticates, so loopback addresses only unless "
        "--allow-unauthenticated",
    ),
    Option(
        "heap_api_key_file",
        HEAP_API_KEY_FILE_ENV,
        None,
        f"file holding Heap's API key, for user deletion (or the key itself in {HEAP_API_KEY_ENV})",
        unset="none: user deletion is refused",
    ),
    Option(
        "allow_unauthenticated",
        "HEAP_DESTINATION_ALLOW_UNAUTHENTICATED",
        False,
        "serve a non-loopback address without tokens: the network in front authenticates",
        boolean,
    ),
    Option(
        "tls_cert",
        "HEAP_DESTINATION_TLS_CERT",
        None,
        "server certificate (PEM) for TLS",
        unset="none: plaintext",
    ),
    Option(
        "tls_key",
        "HEAP_DESTINATION_TLS_KEY",
        None,
        "server private key (PEM) for TLS",
        unset="none: plaintext",
    ),
    Option(
        "tls_client_ca",
        "HEAP_DESTINATION_TLS_CLIENT_CA",
        None,
        "CA (PEM) that client certificates must chain to; set it to require mTLS",
        unset="none: no client certificate asked",
    ),
    Option(
        "http_listen",
        "HEAP_DESTINATION_HTTP_LISTEN",
        None,
        "host:port of the Segment-compatible HTTP intake (/v1/batch, ...; docs/segment.md), or off",
        _metrics_address,
        unset="serve: off; run: 127.0.0.1:8790",
    ),
    Option(
        "http_ack_mode",
        "HEAP_DESTINATION_HTTP_ACK_MODE",
        None,
        "what the HTTP intake's 200 means: stored (committed to --store) or delivered (Heap "
        "accepted it)",
        choices=tuple(m.value for m in AckMode),
        unset="stored with a store, else delivered",
    ),
    Option(
        "metrics_listen",
        "HEAP_DESTINATION_METRICS_LISTEN",
        "127.0.0.1:9464",
        "host:port of the Prometheus /metrics endpoint, or off",
        _metrics_address,
    ),
    Option(
        "workers",
        "HEAP_DESTINATION_WORKERS",
        1,
        "server processes sharing the port (SO_REUSEPORT, among themselves only)",
        _positive(int),
    ),
    Option(
        "log_format",
        "HEAP_DESTINATION_LOG_FORMAT",
        "json",
        "json or text",
        choices=("json", "text"),
    ),
    Option(
        "log_level",
        "HEAP_DESTINATION_LOG_LEVEL",
        "info",
        "debug, info, warning or error",
        choices=("debug", "info", "warning", "error"),
    ),
]
