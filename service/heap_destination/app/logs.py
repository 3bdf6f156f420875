"""Log lines, each with the request id of the call it belongs to (and, when tracing, its
trace and span ids) and the fields passed with `extra`: JSON objects, or text for reading
by eye (`key=value` after the message).

Only what the service chooses to log goes out: methods, codes, timings, counts, app ids.
Property values, traits and tokens are never passed to a logger.
"""

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

import orjson
from opentelemetry import trace

REQUEST_ID: ContextVar[str | None] = ContextVar("heap_destination_request_id", default=None)

# Attributes every LogRecord has; anything else was passed with `extra=` and is logged.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def _fields(record: logging.LogRecord) -> dict[str, object]:
    """The call's request id, trace and span ids, and the record's `extra` fields."""
    fields: dict[str, object] = {}
    request_id = REQUEST_ID.get()
    if request_id is not None:
        fields["request_id"] = request_id
    span = trace.get_current_span().get_span_context()
    if span.is_valid:
        fields["trace_id"] = trace.format_trace_id(span.trace_id)
        fields["span_id"] = trace.format_span_id(span.span_id)
    return fields | {k: v for k, v in record.__dict__.items() if k not in _STANDARD}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line |= _fields(record)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        try:
            return orjson.dumps(line, default=str).decode()
        except TypeError:  # what orjson cannot write (an integer past 64 bits, say)
            return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`TIME LEVEL LOGGER MESSAGE key=value ...`; a value with a space, quote or `=` is
    quoted as JSON so that the line still splits into its fields."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        pairs = (f"{key}={_text_value(value)}" for key, value in _fields(record).items())
        return " ".join([super().formatMessage(record), *pairs])


def _text_value(value: object) -> str:
    if not isinstance(value, str):
        return json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"))
    if not value or any(c in value for c in ' "=\n'):
        return json.dumps(value, ensure_ascii=False)
    return value


def configure_logging(log_format: str, level: str) -> None:
    # No line logged shows the source file, thread or process: not gathering them saves
    # most of a record's cost (the logging HOWTO's "Optimization").
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
