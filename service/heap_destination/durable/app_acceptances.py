"""When Heap last accepted a request for each app, as this process saw it: whether Heap
takes the app's other requests while one batch keeps failing."""

import time
from collections.abc import Callable

# Apps remembered at most; past it, those not heard of within the window are forgotten.
MAX_APPS = 10_000


class AppAcceptances:
    def __init__(self, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        """`window`: seconds after which an app's last acceptance may be forgotten."""
        self._window = window
        self._clock = clock
        self._last: dict[str, float] = {}

    def accepted(self, app_id: str) -> None:
        self._last[app_id] = self._clock()
        if len(self._last) > MAX_APPS:
            cutoff = self._clock() - self._window
            self._last = {app: at for app, at in self._last.items() if at >= cutoff}

    def since(self, app_id: str, moment: float) -> bool:
        """Whether Heap accepted a request for the app after `moment` (this clock's)."""
        return self._last.get(app_id, float("-inf")) > moment

    def now(self) -> float:
        return self._clock()
