"""A careless or hostile caller of the Segment-compatible HTTP intake: every case gets its
documented status (400 only for what is not a batch at all, 401 for keys, an invalid item
listed in a 200), never a 500, and gRPC keeps serving throughout."""

import base64
import contextlib
import gzip
import http.client
import json
import random
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from heap_destination.app.settings import ServiceSettings
from heap_destination.app.tokens import parse_tokens
from heap_destination.client import HeapDestinationClient
from heap_destination.delivery.engine import EngineSettings
from heap_destination.domain.destination import DestinationSettings
from heap_destination.sim import HeapSimulator
from tests.conftest import APP_ID, FAST_RETRIES
from tests.support import http_client
from tests.support.background_service import BackgroundService
from tests.support.simulator_api import tracked_events

KEY = "hostile-write-key-0001"
OTHER_APP = "999"
OTHER_APP_KEY = "other-app-write-key-01"
SEVERAL_APPS_KEY = "several-apps-write-key"
KNOWN_FIELDS = (
    "type",
    "messageId",
    "userId",
    "anonymousId",
    "event",
    "name",
    "groupId",
    "previousId",
    "timestamp",
    "originalTimestamp",
    "sentAt",
    "properties",
    "traits",
    "context",
    "integrations",
)

USED_BY = {"name": "page", "groupId": "group", "previousId": "alias", "traits": "identify"}
"""An item type that uses each field a track does not (a field the type does not use is
ignored)."""


@dataclass(frozen=True)
class Case:
    name: str
    status: int
    path: str = "/v1/batch"
    body: bytes = b'{"batch": []}'
    headers: dict[str, str] = field(default_factory=dict)
    key: str | None = KEY
    method: str = "POST"
    says: str = ""
    """Text the answer holds (its message, or a rejected item's reason)."""
    by_aiohttp: bool = False
    """Refused by the HTTP server itself (a request line or headers past their bounds),
    before the intake: a plain-text 400."""


def good(n: int = 0, **fields: Any) -> dict[str, Any]:
    return {"type": "track", "event": "E", "userId": f"u{n}", "messageId": f"m{n}"} | fields


def batch(*items: Any, **fields: Any) -> bytes:
    return json.dumps({"batch": list(items), **fields}).encode()


def deep(levels: int) -> bytes:
    return b'{"batch": [' + b"[" * levels + b"]" * levels + b"]}"


def wrong_type_cases() -> list[Case]:
    """A known field of each item of the wrong JSON type: that item is rejected, naming
    it, and the batch is still taken."""
    wrong: dict[str, Any] = {name: 12345 for name in KNOWN_FIELDS[:11]}
    wrong |= {"properties": "x", "traits": [1], "context": True, "integrations": "All"}
    cases = [
        Case(
            f"wrong type: {name}",
            200,
            body=batch(good(1), good(2, **{"type": USED_BY.get(name, "track"), name: value})),
            says=f"{name}: must be",
        )
        for name, value in wrong.items()
    ]
    cases.append(
        Case(
            "wrong type: context.traits",
            200,
            body=batch(good(1), good(2, context={"traits": "x"})),
            says="context.traits: must be an object",
        )
    )
    return cases


CASES = [
    Case("bad JSON", 400, body=b'{"batch": [', says="not JSON"),
    Case("empty body", 400, body=b"", says="not JSON"),
    Case("not UTF-8", 400, body=b'{"batch": ["\xff\xfe"]}', says="not JSON"),
    Case("a lone surrogate", 400, body=b'{"batch": ["\\ud800"]}', says="not JSON"),
    Case("an array, not an object", 400, body=b"[]", says="not an array"),
    Case("null", 400, body=b"null", says="not null"),
    Case("a string", 400, body=b'"batch"', says="not a string"),
    Case("no batch", 400, body=b"{}", says="batch: must be a list"),
    Case("batch is an object", 400, body=b'{"batch": {}}', says="batch: must be a list"),
    Case(
        "batch context of the wrong type",
        200,
        body=batch(good(), context=[1]),
        says="context: must be an object, not an array (the batch's)",
    ),
    Case(
        "batch integrations of the wrong type",
        200,
        body=batch(good(), integrations="All"),
        says="integrations: must be an object, not a string (the batch's)",
    ),
    Case(
        "batch sentAt of the wrong type",
        200,
        body=batch(good(), sentAt=1),
        says="sentAt: must be a string, not a number (the batch's)",
    ),
    Case("3,000 items", 400, body=batch(*[good(n) for n in range(3000)]), says="at most 2500"),
    Case("nesting 10,000 deep", 400, body=deep(10_000), says="deeper than 1024"),
    Case(
        "a 10 MB body",
        400,
        body=b'{"batch": [], "pad": "' + b"x" * (10 * 1024 * 1024) + b'"}',
        says="over",
    ),
    Case(
        "a body just over 500 KB",
        400,
        body=b'{"batch": [], "pad": "' + b"x" * (500 * 1024) + b'"}',
        says="over",
    ),
    Case("bad gzip", 400, body=b"not gzip", headers={"content-encoding": "gzip"}, says="gzip"),
    Case(
        "truncated gzip",
        400,
        body=gzip.compress(batch(good()))[:-10],
        headers={"content-encoding": "gzip"},
        says="gzip",
    ),
    Case(
        "a gzip bomb",
        400,
        body=gzip.compress(b'{"batch": [], "pad": "' + b"0" * (100 * 1024 * 1024) + b'"}'),
        headers={"content-encoding": "gzip"},
        says="inflates to over",
    ),
    Case(
        "an unknown Content-Encoding",
        400,
        body=batch(good()),
        headers={"content-encoding": "br"},
        says="not supported",
    ),
    Case("missing key", 401, body=batch(good()), key=None, says="no write key"),
    Case(
        "wrong key", 401, body=batch(good()), key="not-a-token-of-this-service", says="not a token"
    ),
    Case(
        "a key that resolves to several apps",
        401,
        body=batch(good()),
        key=SEVERAL_APPS_KEY,
        says="several app_ids",
    ),
    Case(
        "a bearer header, not Basic",
        401,
        body=batch(good()),
        key=None,
        headers={"authorization": f"Bearer {KEY}"},
        says="no write key",
    ),
    Case(
        "Basic with garbage",
        401,
        body=batch(good()),
        key=None,
        headers={"authorization": "Basic %%%"},
        says="no write key",
    ),
    Case(
        "a body writeKey of the wrong type",
        401,
        body=batch(good(), writeKey=12345),
        key=None,
        says="no write key",
    ),
    Case(
        "a huge header", 400, body=batch(good()), headers={"x-pad": "p" * 100_000}, by_aiohttp=True
    ),
    Case(
        "too many headers",
        400,
        body=batch(good()),
        headers={f"x-pad-{n}": "p" for n in range(200)},
        by_aiohttp=True,
    ),
    Case(
        "a huge URL",
        400,
        path="/v1/batch?" + "q" * 100_000,
        body=batch(good()),
        by_aiohttp=True,
    ),
    Case("an unknown route", 404, path="/v1/unknown", body=batch(good())),
    Case("GET a POST route", 405, path="/v1/batch", method="GET", body=b""),
    Case("an item that is a number", 200, body=batch(good(1), 5), says="item: must be an object"),
    Case("an item with no type", 200, body=batch(good(1), {"userId": "u"}), says="type: required"),
    Case("an item of an unknown type", 200, body=batch(good(1), good(2, type="x")), says="type"),
    Case(
        "an item over 32 KB",
        200,
        body=batch(good(1), good(2, properties={"p": "x" * 40_000})),
        says="Segment's item limit",
    ),
    Case(
        "a property nested 30 deep",
        200,
        body=batch(good(1), good(2, properties=json.loads(b'{"a":' * 30 + b"1" + b"}" * 30))),
        says="nest at most 20 levels",
    ),
    Case(
        "NaN and Infinity in properties",
        200,
        body=b'{"batch": [{"type": "track", "event": "E", "userId": "u", '
        b'"properties": {"a": NaN, "b": Infinity, "c": 1e400}}]}',
        says="properties.a",
    ),
    Case(
        "a control character in an event name",
        200,
        body=batch(good(1), good(2, event="E\u0000vil")),
        says="event",
    ),
    Case(
        "a timestamp that overflows when corrected",
        200,
        body=batch(
            good(1),
            good(2, originalTimestamp="9999-12-31T00:00:00Z", sentAt="0001-01-01T00:00:00Z"),
        ),
        says="originalTimestamp",
    ),
    Case(
        "a messageId of 5,000 characters",
        200,
        body=batch(good(2, messageId="m" * 5000)),
        says="messageId",
    ),
    Case(
        "an identity of 300 characters", 200, body=batch(good(2, userId="u" * 300)), says="userId"
    ),
    Case("exactly 2,500 items", 200, body=batch(*[good(n) for n in range(2500)])),
    *wrong_type_cases(),
]


@pytest.fixture(scope="module")
def simulator() -> Iterator[HeapSimulator]:
    with HeapSimulator("127.0.0.1", 0) as running:
        yield running


@pytest.fixture(scope="module")
def service(simulator: HeapSimulator) -> Iterator[BackgroundService]:
    tokens = parse_tokens(
        json.dumps(
            [
                {"token": KEY, "name": "sdk", "app_ids": [APP_ID]},
                {"token": OTHER_APP_KEY, "name": "other", "app_ids": [OTHER_APP]},
                {"token": SEVERAL_APPS_KEY, "name": "several", "app_ids": [APP_ID, "5"]},
            ]
        ),
        "tokens",
    )
    settings = ServiceSettings(
        listen="127.0.0.1:0",
        defaults=DestinationSettings(base_url=simulator.url),
        retry=FAST_RETRIES,
        grace_period=0,
        engine=EngineSettings(),
        tokens=tokens,
        http_listen="127.0.0.1:0",
    )
    running = BackgroundService(settings).start()
    yield running
    running.stop()


def send(service: BackgroundService, case: Case) -> http_client.Response:
    """The case's request; a body the service stops reading (past its cap) may end the
    connection before all is sent, so the answer is then read from the raw socket."""
    headers = {"content-type": "application/json", **case.headers}
    if case.key is not None:
        headers["authorization"] = "Basic " + base64.b64encode(f"{case.key}:".encode()).decode()
    if len(case.body) <= 1024 * 1024:
        return http_client.request(
            case.method, f"{service.http_url}{case.path}", content=case.body, headers=headers
        )
    return _raw_request(service, case, headers)


def _raw_request(
    service: BackgroundService, case: Case, headers: dict[str, str]
) -> http_client.Response:
    port = int(service.http_url.rpartition(":")[2])
    head = f"{case.method} {case.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    head += f"Content-Length: {len(case.body)}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(head.encode())
        # It may answer, and close, before taking the rest.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.sendall(case.body)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    _, _, body = rest.partition(b"\r\n\r\n")
    return http_client.Response(int(status_line.split()[1]), http.client.HTTPMessage(), body)


def grpc_health(service: BackgroundService) -> int:
    with grpc.insecure_channel(service.target) as channel:
        answer = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
    return int(answer.status)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_hostile_request_gets_its_documented_status_never_500(
    service: BackgroundService, case: Case
) -> None:
    answer = send(service, case)

    assert answer.status_code == case.status, answer.text[:500]
    assert grpc_health(service) == health_pb2.HealthCheckResponse.SERVING
    if case.says:
        assert case.says in answer.text, answer.text[:500]
    if case.status in (400, 401) and not case.by_aiohttp:
        assert answer.json()["success"] is False
    if case.status == 200:
        body = answer.json()
        assert body["success"] is True
        if case.says:
            assert body["rejected"] and all(r["reason"] for r in body["rejected"])


def test_there_are_at_least_40_hostile_cases() -> None:
    assert len(CASES) >= 40


def test_a_key_for_another_app_sends_only_to_that_app(
    service: BackgroundService, simulator: HeapSimulator
) -> None:
    before = [e for e in tracked_events(simulator.url) if e["app_id"] == APP_ID]

    answer = send(service, Case("another app's key", 200, body=batch(good(77)), key=OTHER_APP_KEY))

    assert answer.status_code == 200
    after = tracked_events(simulator.url)
    assert [e["idempotency_key"] for e in after if e["app_id"] == OTHER_APP] == ["m77"]
    assert [e for e in after if e["app_id"] == APP_ID] == before


def test_grpc_keeps_serving_after_every_hostile_request(service: BackgroundService) -> None:
    send(service, CASES[0])
    with HeapDestinationClient(service.target, app_id=APP_ID, timeout=10, token=KEY) as client:
        response = client.track("After", user_id="u1", message_id="after-hostile")

    assert response.idempotency_key == "after-hostile"
    assert http_client.get(f"{service.http_url}/healthz").status_code == 200


def test_randomly_mutated_bodies_are_never_answered_500(service: BackgroundService) -> None:
    chooser = random.Random(23)
    original = batch(
        good(1, properties={"a": [1, {"b": None}], "c": "d"}, context={"traits": {"e": 1}}),
        {"type": "identify", "userId": "u", "traits": {"x": 1}},
        {"type": "group", "groupId": "g", "traits": {"y": 2}},
        sentAt="2026-12-07T08:00:00Z",
    )
    statuses = set()
    with http_client.HttpClient(service.http_url) as client:
        for _ in range(300):
            body = bytearray(original)
            for _ in range(chooser.randint(1, 4)):
                body[chooser.randrange(len(body))] = chooser.randrange(256)
            headers = {"authorization": "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()}
            statuses.add(client.post("/v1/batch", content=bytes(body), headers=headers).status_code)

    assert statuses <= {200, 400, 401}
