"""A request's config.base_url cannot make the service send anywhere its operator did not
allow: other hosts are INVALID_ARGUMENT, and nothing is sent there."""

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.rpc import code_pb2

from heap_destination.client import HeapDestinationClient, error_details, in_messages, track_event
from heap_destination.domain.destination import normalize_base_url
from heap_destination.sim import HeapSimulator
from heap_destination.v1 import config_pb2
from tests.conftest import APP_ID
from tests.support.background_service import BackgroundService
from tests.support.simulator_api import attempts, tracked_events
from tests.support.streaming import stream


@pytest.fixture
def elsewhere() -> Iterator[HeapSimulator]:
    """A second HTTP server, standing for a host inside the operator's network."""
    with HeapSimulator("127.0.0.1", 0) as running:
        yield running


def _client(service: BackgroundService, base_url: str) -> HeapDestinationClient:
    config = config_pb2.DestinationConfig(app_id=APP_ID, base_url=base_url)
    return HeapDestinationClient(service.target, config=config, timeout=10)


def test_by_default_a_request_cannot_name_another_base_url(
    service: BackgroundService, elsewhere: HeapSimulator
) -> None:
    with _client(service, elsewhere.url) as client, pytest.raises(grpc.RpcError) as raised:
        client.track("Signed Up", user_id="u1")

    details = error_details(raised.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "not allowed" in details.field_violations["config.base_url"]
    assert attempts(elsewhere.url) == []


def test_the_servers_own_base_url_is_allowed_in_a_request(
    service: BackgroundService, simulator: HeapSimulator
) -> None:
    with _client(service, simulator.url.upper().replace("HTTP://", "http://")) as client:
        client.track("Signed Up", user_id="u1")

    assert len(tracked_events(simulator.url)) == 1


def test_an_operator_can_allow_more_base_urls(
    simulator: HeapSimulator, elsewhere: HeapSimulator, start_service: Any
) -> None:
    service = start_service(
        base_url=simulator.url, extra_base_urls=frozenset({normalize_base_url(elsewhere.url)})
    )

    with _client(service, elsewhere.url + "/") as client:
        client.track("Signed Up", user_id="u1")

    assert len(tracked_events(elsewhere.url)) == 1
    assert tracked_events(simulator.url) == []


@pytest.mark.parametrize(
    ("make_url", "rule"),
    [
        (lambda url: url.replace("http://", "http://user:secret@"), "user name or password"),
        (lambda url: url + "\r\nX-Injected: 1", "control characters"),
        (lambda url: url.rsplit(":", 1)[0] + ":99999", "port"),
        (lambda url: url + "/api", "only a scheme, a host and a port"),
    ],
)
def test_malformed_base_urls_are_rejected_before_anything_is_sent(
    simulator: HeapSimulator, elsewhere: HeapSimulator, start_service: Any, make_url: Any, rule: str
) -> None:
    service = start_service(
        base_url=simulator.url, extra_base_urls=frozenset({normalize_base_url(elsewhere.url)})
    )

    with (
        _client(service, make_url(elsewhere.url)) as client,
        pytest.raises(grpc.RpcError) as raised,
    ):
        client.track("Signed Up", user_id="u1")

    details = error_details(raised.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert rule in details.field_violations["config.base_url"]
    assert attempts(elsewhere.url) == []
    assert attempts(simulator.url) == []


def test_a_stream_naming_two_thousand_hosts_sends_nothing_and_every_event_is_answered(
    service: BackgroundService, simulator: HeapSimulator
) -> None:
    events = []
    for i in range(2000):
        event = track_event(str(i), "Signed Up", user_id="u1")
        event.track.config.base_url = f"http://127.0.0.{1 + i % 200}:{10_000 + i}"
        events.append(event)

    results = stream(
        service.target, in_messages(events, 500, config_pb2.DestinationConfig(app_id=APP_ID))
    )

    assert len(results) == 2000
    assert {r.code for r in results} == {code_pb2.INVALID_ARGUMENT}
    assert {v.field for r in results for v in r.field_violations} == {"config.base_url"}
    assert attempts(simulator.url) == []
