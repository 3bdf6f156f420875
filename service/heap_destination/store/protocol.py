"""The interface delivery and the API use; both engines implement it."""

from collections.abc import Collection, Mapping, Sequence
from typing import Protocol

from heap_destination.store.budgets import Budget, Reservation
from heap_destination.store.items import AppBacklog, AppHold, NewItem, StoredItem
from heap_destination.store.status_queries import DEFAULT_LIMIT


class Store(Protocol):
    async def append(self, items: Sequence[NewItem]) -> list[int]:
        """Stores all items in one transaction and returns their ids, in order.

        Raises StoreFull, storing nothing, when the bound on undelivered items in total or
        for one app_id would be exceeded; any other error means nothing was stored either.
        """
        ...

    async def claim(self, worker: str, limit: int, lease_seconds: float) -> list[StoredItem]:
        """Leases up to `limit` due items of one (base_url, app_id, endpoint), oldest first.

        The group is that of the oldest due item. Items whose lease expired (a crashed
        worker) are due again. Claimed items are "delivering" with attempts + 1. Items of an
        app with a hold in force (see `holds`) are never claimed.
        """
        ...

    async def renew_leases(self, ids: Sequence[int], worker: str, lease_seconds: float) -> int:
        """Extends to `lease_seconds` from now the lease of those of `ids` that `worker`
        still holds (delivering, not taken over after an expiry); their count."""
        ...

    async def release(self, ids: Sequence[int], due_at: float) -> None:
        """Gives claimed items back without counting the attempt: "stored" with attempts - 1
        (never below 0), claimable from `due_at`. Items already delivered or dead are left
        as they are."""
        ...

    async def mark_delivered(self, ids: Sequence[int], heap_status: int) -> None:
        """Final whatever the item's state: Heap has it, even if a lease had expired."""
        ...

    async def mark_failed(
        self,
        ids: Sequence[int],
        error: str,
        heap_status: int | None,
        heap_body: str,
        retry_at: float,
    ) -> None:
        """Back to "stored", not claimable before `retry_at`; `heap_body` is cut to 500
        characters. Items already delivered or dead are left as they are."""
        ...

    async def mark_dead(
        self, ids: Sequence[int], reason: str, heap_status: int | None, heap_body: str
    ) -> None:
        """`reason` becomes last_error. Items already delivered or dead are left as they are."""
        ...

    async def purge_identities(self, app_id: str, identities: Sequence[str], reason: str) -> int:
        """For a deleted user: the app's undelivered items of `identities` become "dead"
        with `reason` as last_error, and are never delivered; their count.

        Every item of `identities` in the app (delivered and dead ones too) has its body
        replaced by `{}` and its heap_body emptied, so no property value stays; dead ones
        take `reason` as well. An item being delivered may still be marked delivered.
        """
        ...

    async def status(
        self,
        message_id: str | None = None,
        item_id: int | None = None,
        *,
        stream_event_id: str | None = None,
        app_ids: Collection[str] | None = None,
        limit: int = DEFAULT_LIMIT,
        after_id: int | None = None,
    ) -> list[StoredItem]:
        """The items that match every key given (message id, item id, stream event id), of
        `app_ids` (every app when None), by id: the first `limit` after `after_id`.
        ValueError when given no key.

        A page costs about `limit` items per app holding the key, however many items
        share it."""
        ...

    async def dead_letters(
        self,
        app_id: str | None,
        reason_contains: str | None,
        limit: int,
        after_id: int | None,
        *,
        message_id: str | None = None,
        item_id: int | None = None,
    ) -> list[StoredItem]:
        """Dead items by id, after `after_id`; `reason_contains` ignores case. Each filter
        (app_id, reason_contains, message_id, item_id) given narrows them; None for any."""
        ...

    async def replay_dead(
        self,
        app_id: str | None,
        reason_contains: str | None = None,
        *,
        message_id: str | None = None,
        item_id: int | None = None,
    ) -> int:
        """Dead items (filtered as by `dead_letters`) become "stored" with attempts 0,
        claimable now, and their retry age counts from now (replayed_at); their count."""
        ...

    async def purge_dead(
        self,
        app_id: str | None,
        reason_contains: str | None = None,
        *,
        message_id: str | None = None,
        item_id: int | None = None,
    ) -> int:
        """Deletes dead items (filtered as by `dead_letters`); their count."""
        ...

    async def backlog(self) -> list[AppBacklog]:
        """Per app_id with undelivered items, deliveries in the last 60 s, or a pause, by
        app_id."""
        ...

    async def hold_app(self, app_id: str, until: float, reason: str) -> None:
        """Delivery of the app waits until `until` (Heap's Retry-After, a full budget).

        A hold already later is kept, and so is a pause; `reason` replaces the last one.
        """
        ...

    async def pause_app(self, app_id: str, reason: str) -> None:
        """Delivery of the app waits until `resume_apps` lifts the pause; `reason` replaces
        the last one."""
        ...

    async def resume_apps(self, app_id: str | None) -> list[str]:
        """Lifts the pause and any hold of one app, or of every app; the app_ids that were
        paused, sorted."""
        ...

    async def holds(self) -> list[AppHold]:
        """The holds in force now (paused, or held until later than now), by app_id."""
        ...

    async def reserve(self, app_id: str, wanted: Mapping[str, int], budget: Budget) -> Reservation:
        """Counts events against the app's budget, shared by every process on the store.

        `wanted` maps identity to the events the caller wants to send now; identities are
        granted in its order, each as much as its own and the app's room in the window
        allow (0 or part of what it wanted when that is short). Granted events count from
        now, until `settle` or `refund`. `retry_at` is None when all was granted, else the
        earliest moment (later than now) at which what was refused fits, as much of it as
        one window can hold, unless others reserve meanwhile. ValueError for a negative count.
        """
        ...

    async def settle(self, reservation_id: str) -> None:
        """The reservation's events count from now: Heap counts from when it got them."""
        ...

    async def refund(self, reservation_id: str) -> None:
        """Forgets the reservation's events; for when nothing was sent."""
        ...

    async def ping(self) -> None:
        """A cheap round trip to the database; raises when it cannot be reached."""
        ...

    async def check(self) -> None:
        """Raises when the store cannot take commits now: it cannot be reached, or its file
        was found damaged and does not pass an integrity check yet (StoreDamaged, SQLite
        only). While it is damaged, every commit raises StoreDamaged at once."""
        ...

    async def prune(self, older_than: float) -> int:
        """Deletes delivered and dead items accepted before `older_than`."""
        ...

    async def close(self) -> None: ...
