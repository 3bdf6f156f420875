"""Health is SERVING only while no reason holds it back, whoever holds or drops them."""

from grpc_health.v1 import health, health_pb2

from heap_destination.app.health_reasons import (
    STARTING,
    STORE_UNREACHABLE,
    WORKERS_MISSING,
    HealthReasons,
)

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
NAMES = ("", "heap_destination.v1.HeapDestinationService")


async def statuses(servicer: health.aio.HealthServicer) -> list[int]:
    return [
        int((await servicer.Check(health_pb2.HealthCheckRequest(service=name), None)).status)  # type: ignore[arg-type]
        for name in NAMES
    ]


async def test_serving_once_started_and_not_while_any_reason_holds() -> None:
    servicer = health.aio.HealthServicer()
    reasons = HealthReasons(servicer, NAMES)

    await reasons.update(STORE_UNREACHABLE, holds=False)
    assert await statuses(servicer) == [NOT_SERVING] * 2  # still starting

    await reasons.update(STARTING, holds=False)
    assert await statuses(servicer) == [SERVING] * 2

    await reasons.update(STORE_UNREACHABLE, holds=True)
    await reasons.update(WORKERS_MISSING, holds=True)
    await reasons.update(STORE_UNREACHABLE, holds=False)
    assert await statuses(servicer) == [NOT_SERVING] * 2
    assert reasons.held == {WORKERS_MISSING}

    await reasons.update(WORKERS_MISSING, holds=False)
    assert await statuses(servicer) == [SERVING] * 2


async def test_graceful_shutdown_is_not_undone_by_a_reason_dropped_later() -> None:
    servicer = health.aio.HealthServicer()
    reasons = HealthReasons(servicer, NAMES, held=(WORKERS_MISSING,))
    await reasons.update(STARTING, holds=False)

    await servicer.enter_graceful_shutdown()
    await reasons.update(WORKERS_MISSING, holds=False)

    assert await statuses(servicer) == [NOT_SERVING] * 2
