"""The real gRPC service, started in-process on a free port, on its own event loop thread.

Tests then call it through a real channel with the synchronous client, as a user would.
"""

import asyncio
import threading

from opentelemetry.sdk.trace import TracerProvider

from heap_destination.app.server import RunningService, start_service
from heap_destination.app.settings import ServiceSettings


class BackgroundService:
    def __init__(self, settings: ServiceSettings, tracing: TracerProvider | None = None) -> None:
        self._settings = settings
        self._tracing = tracing
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._running: RunningService | None = None

    @property
    def target(self) -> str:
        assert self._running is not None
        return f"127.0.0.1:{self._running.port}"

    @property
    def http_url(self) -> str:
        """The Segment-compatible HTTP intake's base URL (started with http=True)."""
        assert self._running is not None and self._running.http_intake is not None
        return f"http://127.0.0.1:{self._running.http_intake.port}"

    def start(self) -> "BackgroundService":
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            start_service(self._settings, self._tracing), self._loop
        )
        self._running = future.result(timeout=10)
        return self

    def stop(self) -> None:
        if self._running is not None:
            stop = asyncio.run_coroutine_threadsafe(self._running.stop(0), self._loop)
            stop.result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
