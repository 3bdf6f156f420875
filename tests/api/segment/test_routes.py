"""The HTTP routes over a real aiohttp server: health, failures nothing expected, and
routes that do not exist, each in the intake's JSON shape and never a 500."""

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from heap_destination.api.segment.intake import Reply
from heap_destination.api.segment.routes import SERVER_OPTIONS, segment_app


class _Intake:
    """Stands in for SegmentIntake: answers or fails as told."""

    def __init__(self, answer: Callable[[], Reply]) -> None:
        self._answer = answer
        self.calls: list[tuple[Any, ...]] = []

    async def take(self, *args: Any) -> Reply:
        self.calls.append(args)
        return self._answer()


def _failing() -> Reply:
    raise RuntimeError("nothing expected this")


async def _client(intake: _Intake, serving: bool) -> TestClient[Any, Any]:
    app = segment_app(intake, lambda: serving, None, 1024, 10)  # type: ignore[arg-type]
    server = TestServer(app)
    await server.start_server(**SERVER_OPTIONS)
    return TestClient(server)


@pytest.fixture
async def ok_client() -> AsyncIterator[tuple[TestClient[Any, Any], _Intake]]:
    intake = _Intake(lambda: Reply(200, {"success": True}))
    client = await _client(intake, serving=True)
    yield client, intake
    await client.close()


async def test_healthz_follows_grpc_health() -> None:
    up = await _client(_Intake(lambda: Reply(200, {})), serving=True)
    down = await _client(_Intake(lambda: Reply(200, {})), serving=False)
    try:
        assert (await up.get("/healthz")).status == 200
        answer = await down.get("/healthz")
        assert answer.status == 503
        assert await answer.json() == {"status": "NOT_SERVING"}
    finally:
        await up.close()
        await down.close()


async def test_a_failure_nothing_expected_is_a_503_the_sdks_retry() -> None:
    client = await _client(_Intake(_failing), serving=True)
    try:
        answer = await client.post("/v1/batch", data=b"{}")
        assert answer.status == 503
        assert answer.headers["Retry-After"] == "1"
        assert (await answer.json())["code"] == "internal"
    finally:
        await client.close()


async def test_each_route_gives_its_type_and_the_headers_to_the_intake(
    ok_client: tuple[TestClient[Any, Any], _Intake],
) -> None:
    client, intake = ok_client
    for path in ("/v1/batch", "/v1/import", "/v1/track", "/v1/alias"):
        answer = await client.post(
            path, data=b"{}", headers={"Content-Encoding": "gzip", "Authorization": "Basic x"}
        )
        assert answer.status == 200

    assert [call[0] for call in intake.calls] == [None, None, "track", "alias"]
    assert {(call[2], call[3]) for call in intake.calls} == {("gzip", "Basic x")}


async def test_unknown_routes_and_methods_and_big_bodies_are_answered_in_json(
    ok_client: tuple[TestClient[Any, Any], _Intake],
) -> None:
    client, intake = ok_client

    missing = await client.post("/v2/batch", data=b"{}")
    wrong_method = await client.get("/v1/batch")
    too_big = await client.post("/v1/batch", data=b"x" * 2048)

    assert (missing.status, wrong_method.status, too_big.status) == (404, 405, 400)
    assert (await missing.json())["success"] is False
    assert "over 1024 bytes as sent" in (await too_big.json())["message"]
    assert intake.calls == []
