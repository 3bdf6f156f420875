"""Every metric that the shipped dashboard and alert rules read is on a live service's
/metrics, after the traffic an on-call would see: unary calls and a stream, a call
refused, an event stored for later delivery, Heap answering 500 and 429, and events held
back by Heap's rate limits."""

import time
from pathlib import Path

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from heap_destination.client import HeapDestinationClient, in_messages, track_event
from heap_destination.v1 import config_pb2
from tests.support import http_client
from tests.support.processes import free_address, start_service
from tests.support.promql import alert_exprs, dashboard_exprs, metric_names
from tests.support.simulator_api import inject_fault

APP_ID = "1234567890"
# The store monitor reports the backlog every 5 s; it may take two looks.
BACKLOG_REPORTED_WITHIN = 20.0


def served(metrics_address: str) -> list[tuple[str, dict[str, str]]]:
    """The samples served, by name (a histogram's as _bucket, _sum and _count) and labels."""
    text = http_client.get(f"http://{metrics_address}/metrics").text
    return [
        (sample.name, sample.labels)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def served_names(metrics_address: str) -> set[str]:
    return {name for name, _ in served(metrics_address)}


def test_parsing_names_out_of_promql() -> None:
    assert metric_names(
        'histogram_quantile(0.99, sum by (le, endpoint) (rate(a_bucket{job=~"x|y", b="c"}[5m])))'
        " / on(instance) group_left(app_id) b_total offset 5m > bool 0.5 unless c"
    ) == {"a_bucket", "b_total", "c"}


@pytest.mark.slow
def test_every_metric_the_dashboard_and_the_alerts_read_is_served(
    simulator: str, tmp_path: Path
) -> None:
    read = {name for expr in dashboard_exprs() + alert_exprs() for name in metric_names(expr)}
    metrics_address = free_address()
    service = start_service(
        free_address(),
        simulator,
        *("--store", f"sqlite:{tmp_path / 'store.db'}"),
        *("--metrics-listen", metrics_address),
        # Past 20 events a second, events wait for the app's budget.
        *("--rate-limit-per-app", "20", "--rate-limit-window", "1"),
    )
    inject_fault(simulator, status=500, count=1)
    inject_fault(simulator, status=429, count=1, retry_after="0")
    try:
        with HeapDestinationClient(service.address(), app_id=APP_ID) as client:
            for n in range(30):
                client.track("Paid", user_id=f"user-{n}")
            client.identify(user_id="user-1", traits={"plan": "pro"})
            with pytest.raises(grpc.RpcError):
                client.track("", user_id="user-1")
            events = (track_event(str(n), "Streamed", user_id=f"s-{n}") for n in range(50))
            assert {r.code for r in client.stream(in_messages(events, 25))} == {0}
        stored = config_pb2.DestinationConfig(app_id=APP_ID, ack_mode=config_pb2.ACK_MODE_STORED)
        with HeapDestinationClient(service.address(), config=stored) as client:
            client.track("Stored", user_id="user-1")

        give_up = time.monotonic() + BACKLOG_REPORTED_WITHIN
        while (missing := read - served_names(metrics_address)) and time.monotonic() < give_up:
            time.sleep(0.2)
        codes = {
            labels["grpc_status"]
            for name, labels in served(metrics_address)
            if name == "grpc_server_call_duration_seconds_count"
        }
    finally:
        service.terminate()
        service.wait(timeout=30)

    assert len(read) >= 20
    assert missing == set(), f"read by the dashboard or the alerts, not served: {missing}"
    # The dashboard and the alerts name codes as the call metrics do.
    assert {"OK", "INVALID_ARGUMENT"} <= codes
