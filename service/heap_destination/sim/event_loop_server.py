"""The simulator's HTTP server: `aiohttp.web` on one event loop, in a thread of its own so
that tests, benchmarks and `heap-destination run` can embed it next to their own code."""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web

from heap_destination.sim.handler import SimulatorHandler
from heap_destination.sim.state import SimulatorState

IDLE_CONNECTION_SECONDS = 3600.0
"""How long a kept-alive connection may sit idle: longer than any test leaves one (and
clients close theirs sooner); stop() and reset() end them all."""
STOP_GRACE_SECONDS = 0.5
"""How long a request still being answered at stop (e.g. one held by a latency fault)
may take before it is cancelled; its connection is closed already."""


class EventLoopServer:
    """Listening once constructed (raising what binding raised), until `stop()`."""

    def __init__(self, host: str, port: int, state: SimulatorState) -> None:
        self._handler = SimulatorHandler(state)
        self._server: web.Server | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self.port = 0
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._serve(host, port),), name="heap-simulator", daemon=True
        )
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            self._thread.join()
            raise self._startup_error

    def replace_state(self, state: SimulatorState) -> None:
        """Answers new requests from `state` and ends the kept-alive connections, so that
        none carries a client's next request to the state it replaces."""
        self._handler.state = state
        self._on_loop(self._close_connections())

    def stop(self) -> None:
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stopping.set)
        self._thread.join()

    async def _serve(self, host: str, port: int) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._server = web.Server(
            self._handler, access_log=None, keepalive_timeout=IDLE_CONNECTION_SECONDS
        )
        runner = web.ServerRunner(self._server, shutdown_timeout=STOP_GRACE_SECONDS)
        try:
            await runner.setup()
            await web.TCPSite(runner, host, port).start()
            self.port = runner.addresses[0][1]
        except BaseException as error:
            self._startup_error = error
            await runner.cleanup()
            return
        finally:
            self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            await self._close_connections()
            await runner.cleanup()

    async def _close_connections(self) -> None:
        assert self._server is not None
        for connection in self._server.connections:
            connection.force_close()
        # The sockets close in callbacks the loop runs next; let it run them before the
        # caller goes on, as it may connect again at once.
        await asyncio.sleep(0)

    def _on_loop(self, work: object) -> None:
        assert self._loop is not None and asyncio.iscoroutine(work)
        asyncio.run_coroutine_threadsafe(work, self._loop).result()
