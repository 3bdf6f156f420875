"""The server's health: SERVING only while no reason says otherwise.

Several things can take a server out of rotation (it is still starting, its store cannot
be reached, fewer workers serve than configured). Each holds or drops its own reason
here, and this is the one place that writes the health servicer's statuses, so two
watchers never overwrite each other's verdict. Graceful shutdown still goes straight to
the servicer, which then ignores every later status.
"""

import asyncio

from grpc_health.v1 import health, health_pb2

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING

STARTING = "starting"
STORE_UNREACHABLE = "the store cannot be reached"
WORKERS_MISSING = "fewer workers serve than configured"


class HealthReasons:
    def __init__(
        self,
        servicer: health.aio.HealthServicer,
        service_names: tuple[str, ...],
        held: tuple[str, ...] = (STARTING,),
    ) -> None:
        self._servicer = servicer
        self._service_names = service_names
        self._held = set(held)
        self._shown: int | None = None
        self._writing = asyncio.Lock()

    @property
    def held(self) -> frozenset[str]:
        """The reasons that keep health NOT_SERVING now."""
        return frozenset(self._held)

    async def update(self, reason: str, holds: bool) -> None:
        """Holds `reason` (health NOT_SERVING) or drops it; writes the statuses when the
        verdict changes."""
        if holds:
            self._held.add(reason)
        else:
            self._held.discard(reason)
        # One write at a time, each with the verdict of every reason held when it
        # starts, so a slower earlier write cannot land last with a stale status.
        async with self._writing:
            status = NOT_SERVING if self._held else SERVING
            if status == self._shown:
                return
            self._shown = status
            for name in self._service_names:
                await self._servicer.set(name, status)
