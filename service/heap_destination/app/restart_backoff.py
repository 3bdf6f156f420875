"""How long a worker that died waits before it is started again."""

from dataclasses import dataclass, field

FIRST_DELAY = 0.5
LONGEST_DELAY = 30.0
# A worker that lived this long counts as settled: its death starts the delays afresh.
SETTLED_AFTER = 60.0


@dataclass
class RestartBackoff:
    """FIRST_DELAY after a worker that had settled; each quick death after that doubles
    the delay, up to LONGEST_DELAY, so a worker that keeps dying costs little."""

    first: float = FIRST_DELAY
    longest: float = LONGEST_DELAY
    settled_after: float = SETTLED_AFTER
    _next: float = field(init=False)

    def __post_init__(self) -> None:
        self._next = self.first

    def delay_after_death(self, lived: float) -> float:
        """Seconds to wait before starting again a worker that died after `lived` seconds."""
        if lived >= self.settled_after:
            self._next = self.first
        delay = self._next
        self._next = min(delay * 2, self.longest)
        return delay
