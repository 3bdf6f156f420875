"""Prometheus metrics of the service (all named heap_destination_*).

A leaf module: the API and delivery layers record into these; the app layer serves them.
"""

from contextlib import suppress
from threading import Lock

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, disable_created_metrics

# A `_created` series per counter and histogram child (the time it was created) only
# doubles what is scraped; rates and alerts never read it.
disable_created_metrics()  # type: ignore[no-untyped-call]


class Level:
    """A gauge whose value is a plain number, read when the metrics are scraped, so that
    changing it per event takes no lock. Change it only from the event loop's thread."""

    def __init__(self, gauge: Gauge) -> None:
        self.value = 0
        gauge.set_function(lambda: self.value)


class AppIdLabel:
    """An app_id as a label value, within a bound on how many distinct values there are.

    Where every token lists its app_ids, those lists bound them already. A token that
    covers every app_id, or a service without tokens, lets callers name any app_id: then
    the first `limit` app_ids seen keep their own value, and later ones share `OTHER`, so
    a caller can never grow the series without bound."""

    OTHER = "other"

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._known: set[str] = set()
        self._lock = Lock()

    def __call__(self, app_id: str) -> str:
        if app_id in self._known:
            return app_id
        with self._lock:
            if len(self._known) >= self.limit:
                return self.OTHER
            self._known.add(app_id)
        return app_id


MAX_APP_ID_LABELS = 200
APP_ID_LABEL = AppIdLabel(MAX_APP_ID_LABELS)
"""The app_id label of the per-app counters below (heap_destination_heap_events_total,
heap_destination_rate_limited_*)."""


EVENTS_RECEIVED = Counter(
    "heap_destination_events_received_total",
    "Events (track, identify, account) received, by kind and by how they came (unary or stream).",
    ["kind", "via"],
)
EVENTS_DELIVERED = Counter(
    "heap_destination_events_delivered_total",
    "Events Heap accepted, by kind (stored events: track, user_properties, identify, account).",
    ["kind"],
)
EVENTS_STORED = Counter(
    "heap_destination_events_stored_total",
    "Events answered OK in ack mode STORED (committed to the store), by kind.",
    ["kind"],
)
EVENTS_FAILED = Counter(
    "heap_destination_events_failed_total",
    "Events answered with an error, by kind and ErrorInfo reason.",
    ["kind", "reason"],
)
PROPERTY_WARNINGS = Counter(
    "heap_destination_property_warnings_total",
    "Properties truncated or left out, by reason (VALUE_TRUNCATED, RESERVED_KEY_OMITTED, ...).",
    ["reason"],
)
BULK_REQUEST_SIZE = Histogram(
    "heap_destination_bulk_request_size",
    "Events, users or accounts per bulk request sent to Heap, by endpoint.",
    ["endpoint"],
    buckets=(1, 10, 50, 100, 250, 500, 750, 1000),
)
HEAP_REQUEST_DURATION = Histogram(
    "heap_destination_heap_request_duration_seconds",
    "Time of each HTTP attempt to Heap, by endpoint.",
    ["endpoint"],
)
HEAP_RESPONSES = Counter(
    "heap_destination_heap_responses_total",
    "HTTP attempts to Heap by endpoint and outcome (the status code, or network_error).",
    ["endpoint", "status"],
)
HEAP_EVENTS = Counter(
    "heap_destination_heap_events_total",
    "Events (or users, accounts, identifies) carried by requests to Heap, by app_id, "
    "endpoint and the request's outcome: delivered (2xx), rejected (a permanent 4xx), or "
    "failed (429, 5xx, unreachable or out of time after its attempts; stored events are "
    "tried again later).",
    ["app_id", "endpoint", "outcome"],
)
RATE_LIMITED_EVENTS = Counter(
    "heap_destination_rate_limited_events_total",
    "Events held back to stay within Heap's rate limits, by app_id and path: live (the "
    "call waited in the service) or stored (left in the store until the budget has room; "
    "an event counts each time it is put back).",
    ["app_id", "path"],
)
RATE_LIMIT_WAIT_SECONDS = Counter(
    "heap_destination_rate_limit_wait_seconds_total",
    "Seconds live events waited for room under Heap's rate limits, summed, by app_id.",
    ["app_id"],
)
HEAP_RETRIES = Counter(
    "heap_destination_heap_retries_total",
    "Retries of requests to Heap, by endpoint.",
    ["endpoint"],
)
QUEUE_DEPTH = Level(
    Gauge(
        "heap_destination_queue_depth",
        "Events and users gathered for bulk requests that have not gone out yet.",
    )
)
IN_FLIGHT_EVENTS = Level(
    Gauge("heap_destination_in_flight_events", "Events taken but not yet answered.")
)
IN_FLIGHT_BYTES = Level(
    Gauge(
        "heap_destination_in_flight_bytes",
        "Serialized bytes of the events taken but not yet answered.",
    )
)
DEAD_LETTERS = Counter(
    "heap_destination_dead_letters_total",
    "Stored events dead-lettered (Heap rejected them, or retries ran out), by kind.",
    ["kind"],
)
APP_PAUSES = Counter(
    "heap_destination_app_pauses_total",
    "Times delivery to an app was paused because Heap answered 401, 403 or 404, by status.",
    ["heap_status"],
)
STORE_COMMIT_DURATION = Histogram(
    "heap_destination_store_commit_duration_seconds",
    "Time from handing stored-mode events to the store until they were committed.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
STORED_BACKLOG = Gauge(
    "heap_destination_stored_backlog_events",
    "Stored events not yet delivered (nor dead), by app_id, as the store reported last.",
    ["app_id"],
)
STORED_OLDEST_AGE = Gauge(
    "heap_destination_stored_oldest_age_seconds",
    "Age of the oldest undelivered stored event, by app_id.",
    ["app_id"],
)
PAUSED_APPS = Gauge(
    "heap_destination_paused_apps",
    "Apps whose delivery is paused until an operator resumes them.",
)
STORE_REACHABLE = Gauge(
    "heap_destination_store_reachable",
    "1 while the durable store answers, 0 while it cannot be reached.",
    registry=None,
)
"""Exported only once a store is watched (export_store_reachable): a service without a
store has no such series, rather than a 0 that reads as a store it cannot reach."""


def export_store_reachable() -> None:
    with suppress(ValueError):  # exported already
        REGISTRY.register(STORE_REACHABLE)


HTTP_REQUESTS = Counter(
    "heap_destination_http_requests_total",
    "Requests to the Segment-compatible HTTP intake, by route and HTTP status.",
    ["route", "status"],
)
HTTP_ITEMS = Counter(
    "heap_destination_http_items_total",
    "Items of Segment requests by outcome: taken, rejected (invalid, or refused by Heap), "
    "skipped_integrations, skipped_no_identity, alias (taken, nothing to send).",
    ["outcome"],
)


def rate_limit_waited(app_id: str, seconds: float) -> None:
    """A live event waited `seconds` for room under Heap's rate limits."""
    label = APP_ID_LABEL(app_id)
    RATE_LIMITED_EVENTS.labels(label, "live").inc()
    RATE_LIMIT_WAIT_SECONDS.labels(label).inc(seconds)
