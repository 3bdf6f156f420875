"""Prometheus metrics of the service (all named heap_destination_*).

A leaf module: the API and delivery layers record into these; the app layer serves them.
"""

from prometheus_client import Counter, Gauge, Histogram


class Level:
    """A gauge whose value is a plain number, read when the metrics are scraped, so that
    changing it per event takes no lock. Change it only from the event loop's thread."""

    def __init__(self, gauge: Gauge) -> None:
        self.value = 0
        gauge.set_function(lambda: self.value)


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
)
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
