"""Log lines, JSON or text, carry the call's request id and the fields passed with `extra`."""

import json
import logging

from heap_destination.app.logs import REQUEST_ID, JsonFormatter, TextFormatter


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("heap_destination.test", logging.INFO, "f.py", 1, message, (), None)
    record.__dict__.update(extra)
    return record


def test_a_line_is_one_json_object_with_the_request_id_and_extra_fields() -> None:
    token = REQUEST_ID.set("req-7")
    try:
        line = JsonFormatter().format(_record("call finished", method="/x/Y", duration_ms=1.5))
    finally:
        REQUEST_ID.reset(token)

    parsed = json.loads(line)
    assert parsed["message"] == "call finished"
    assert parsed["level"] == "info"
    assert parsed["request_id"] == "req-7"
    assert (parsed["method"], parsed["duration_ms"]) == ("/x/Y", 1.5)
    assert "\n" not in line


def test_outside_a_call_there_is_no_request_id() -> None:
    assert "request_id" not in json.loads(JsonFormatter().format(_record("started")))


def test_a_text_line_ends_with_the_request_id_and_extra_fields_as_key_value_pairs() -> None:
    token = REQUEST_ID.set("req-7")
    try:
        line = TextFormatter().format(
            _record(
                "call finished",
                method="/x/Y",
                code="OK",
                caller=None,
                duration_ms=1.5,
                reason="two words",
                app_ids=["1", "2"],
            )
        )
    finally:
        REQUEST_ID.reset(token)

    assert " INFO heap_destination.test call finished " in line
    assert line.endswith(
        ' request_id=req-7 method=/x/Y code=OK caller=null duration_ms=1.5 reason="two words"'
        ' app_ids=["1","2"]'
    )
    assert "\n" not in line
