"""Rate budgets shared through the store: what a reservation may send now, and when what
it refused will fit. The arithmetic lives here; the engines run the ledger's SQL."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    """Heap's rate limits, kept in total by every process sharing the store.

    Events count for `window_seconds` from when they were counted; a limit of None is
    unlimited.
    """

    events_per_window_per_app: int | None
    events_per_window_per_identity: int | None
    window_seconds: float

    def __post_init__(self) -> None:
        if self.window_seconds <= 0:
            raise ValueError("a budget's window_seconds must be positive")
        for limit in (self.events_per_window_per_app, self.events_per_window_per_identity):
            if limit is not None and limit < 0:
                raise ValueError("a budget's limits must not be negative")


@dataclass(frozen=True)
class Reservation:
    id: str
    granted: dict[str, int]
    """Per wanted identity, the events it may send now; 0 when refused."""
    retry_at: float | None
    """None when everything wanted was granted; else when what was refused fits."""
    app_exhausted: bool = False
    """The app's own limit has no room left in the window: what was refused waits for
    the app, not only for its identities."""


@dataclass(frozen=True)
class Shortfall:
    """How many counted events must expire, from the app's window and from each
    identity's, before everything refused fits (as much of it as one window can hold)."""

    app: int
    identities: dict[str, int]


def grants(
    wanted: Mapping[str, int], app_used: int, identity_used: Mapping[str, int], budget: Budget
) -> dict[str, int]:
    """Grants in `wanted`'s order: each identity as much as its room and the app's left."""
    app_room = _room(budget.events_per_window_per_app, app_used)
    granted: dict[str, int] = {}
    for identity, count in wanted.items():
        if count < 0:
            raise ValueError(f"identity {identity!r} wants {count} events; must not be negative")
        identity_room = _room(budget.events_per_window_per_identity, identity_used.get(identity, 0))
        grant = min(count, identity_room, app_room)
        granted[identity] = grant
        app_room -= grant
    return granted


def app_exhausted(app_used: int, granted: Mapping[str, int], budget: Budget) -> bool:
    """Whether the app's limit has no room left once `granted` counts too."""
    limit = budget.events_per_window_per_app
    return limit is not None and app_used + sum(granted.values()) >= limit


def shortfall(
    wanted: Mapping[str, int],
    granted: Mapping[str, int],
    app_used: int,
    identity_used: Mapping[str, int],
    budget: Budget,
) -> Shortfall:
    """`app_used` and `identity_used` are the window's counts before `granted`."""
    identity_limit = budget.events_per_window_per_identity
    identities: dict[str, int] = {}
    needed_in_total = 0
    for identity, count in wanted.items():
        refused = count - granted[identity]
        if refused <= 0:
            continue
        if identity_limit is None:
            needed_in_total += refused
            continue
        needed = min(refused, identity_limit)
        needed_in_total += needed
        used = identity_used.get(identity, 0) + granted[identity]
        if used + needed > identity_limit:
            identities[identity] = used + needed - identity_limit
    app_limit = budget.events_per_window_per_app
    app = 0
    if app_limit is not None:
        used = app_used + sum(granted.values())
        app = max(0, used + min(needed_in_total, app_limit) - app_limit)
    return Shortfall(app=app, identities=identities)


def retry_at(now: float, budget: Budget, expiring: Sequence[float | None]) -> float:
    """When the refused events fit: the latest moment at which a row that must expire
    does (its counted_at plus the window). `expiring` holds those rows' counted_at, None
    for one that could not be found; then, or when nothing must expire (a limit of 0),
    a whole window from now."""
    fallback = now + budget.window_seconds
    found = [counted_at for counted_at in expiring if counted_at is not None]
    if not found or len(found) < len(expiring):
        return fallback
    moment = max(found) + budget.window_seconds
    return moment if moment > now else fallback


def _room(limit: int | None, used: int) -> int:
    if limit is None:
        return _UNLIMITED
    return max(0, limit - used)


# More events than any request can want; stands for "no limit" so grants stay ints.
_UNLIMITED = 2**62
