"""The Heap simulator: a local HTTP server that behaves like Heap's server-side API."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType, TracebackType

from heap_destination.sim.deletion_state import DeletionState
from heap_destination.sim.event_loop_server import EventLoopServer
from heap_destination.sim.faults import Fault
from heap_destination.sim.rate_limits import RateLimiter, RateLimits
from heap_destination.sim.recorder import AcceptedRequest, Attempt
from heap_destination.sim.state import SimulatorState

logger = logging.getLogger(__name__)


class HeapSimulator:
    """Serves on an event loop in a daemon thread of its own once started; port 0 picks a
    free port. Its methods may be called from any thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limits: RateLimits | None = None,
        api_key: str | None = None,
    ) -> None:
        """`api_key` is the key the user deletion API's auth_token checks; without one,
        auth_token refuses every request."""
        self._host = host
        self._port = port
        self._rate_limits = rate_limits
        self._api_key = api_key
        self._state = self._fresh_state()
        self._server: EventLoopServer | None = None

    def start(self) -> HeapSimulator:
        if self._server is not None:
            raise RuntimeError("the Heap simulator is already running")
        self._server = EventLoopServer(self._host, self._port, self._state)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the Heap simulator is not running; call start() first")
        return f"http://{self._host}:{self._server.port}"

    def __enter__(self) -> HeapSimulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def accepted(self) -> list[AcceptedRequest]:
        return self._state.recorder.accepted()

    def attempts(self) -> list[Attempt]:
        return self._state.recorder.attempts()

    def clear(self) -> None:
        """Forgets accepted requests and attempts (not faults or limits)."""
        self._state.recorder.clear()

    def inject(self, fault: Fault) -> None:
        self._state.faults.inject(fault)

    def clear_faults(self) -> None:
        self._state.faults.clear()

    def set_rate_limits(self, limits: RateLimits | None) -> None:
        """Replaces the rate limits; None turns them off."""
        self._state.limiter.configure(limits)

    def reset(self) -> None:
        """Returns to the state it started with, on the same port: no requests, attempts,
        faults, tokens or deletion requests, and the rate limits it was created with.

        Kept-alive connections are ended, and a request still being answered (e.g. one held
        by a latency fault) finishes on the state it started on, so nothing from before the
        reset shows up after it."""
        self._state = self._fresh_state()
        if self._server is not None:
            self._server.replace_state(self._state)

    def _fresh_state(self) -> SimulatorState:
        return SimulatorState(
            limiter=RateLimiter(self._rate_limits), deletion=DeletionState(self._api_key)
        )


def serve(
    host: str, port: int, rate_limits: RateLimits | None = None, api_key: str | None = None
) -> None:
    """Runs the simulator until interrupted (Ctrl-C or SIGTERM)."""
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    previous_handler = None
    # Signal handlers can only be installed from the main thread.
    if threading.current_thread() is threading.main_thread():
        previous_handler = signal.signal(signal.SIGTERM, request_stop)
    try:
        with HeapSimulator(host, port, rate_limits, api_key) as simulator:
            logger.info("Heap simulator listening on %s", simulator.url)
            stop_requested.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)
    logger.info("Heap simulator stopped")
