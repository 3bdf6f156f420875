"""Prometheus metrics of the service (all named heap_destination_*).

A leaf module: the API and delivery layers record into these; the app layer serves them.
"""

from prometheus_client import Counter, Gauge, Histogram

EVENTS_RECEIVED = Counter(
    "heap_destination_events_received_total",
    "Events (track, identify) received, by kind and by how they came (unary or stream).",
    ["kind", "via"],
)
EVENTS_DELIVERED = Counter(
    "heap_destination_events_delivered_total",
    "Events Heap accepted, by kind.",
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
    "Events or users per bulk request sent to Heap, by endpoint.",
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
QUEUE_DEPTH = Gauge(
    "heap_destination_queue_depth",
    "Events and users gathered for bulk requests that have not gone out yet.",
)
IN_FLIGHT_EVENTS = Gauge(
    "heap_destination_in_flight_events",
    "Events taken but not yet answered.",
)
IN_FLIGHT_BYTES = Gauge(
    "heap_destination_in_flight_bytes",
    "Serialized bytes of the events taken but not yet answered.",
)
