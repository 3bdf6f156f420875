"""The bounds on undelivered items that `append` enforces."""

from collections import Counter
from collections.abc import Mapping, Sequence

from heap_destination.store.errors import StoreFull
from heap_destination.store.items import NewItem


def check_bounds(
    items: Sequence[NewItem],
    pending: int,
    pending_by_app: Mapping[str, int],
    max_items: int,
    max_items_per_app: int,
) -> None:
    """Raises StoreFull when `items` would take undelivered items past a bound."""
    if pending + len(items) > max_items:
        raise StoreFull(
            f"the store holds {pending} undelivered items; {len(items)} more would exceed "
            f"its bound of {max_items}"
        )
    for app_id, adding in sorted(Counter(item.app_id for item in items).items()):
        held = pending_by_app.get(app_id, 0)
        if held + adding > max_items_per_app:
            raise StoreFull(
                f"app {app_id} has {held} undelivered items; {adding} more would exceed "
                f"the bound of {max_items_per_app} per app",
                app_id=app_id,
            )
