"""Native arrays: arrays of scalars sent to Heap's track API as JSON arrays.

Heap documents that the properties of a tracked event may hold arrays, which it stores as
one string, the items joined by ||: ["vanilla", "chocolate", "strawberry"] is stored as
"vanilla||chocolate||strawberry", and that string is cut at 1024 characters
(https://developers.heap.io/reference/track-1, "Array property values"). Heap documents
no array values for user properties (add_user_properties), so traits never take this way.

An array qualifies when every item is a string, a number or a boolean; booleans are sent
as "true" and "false", as every other boolean is. Anything else (an object, an array, a
null) keeps the array a compact JSON string, with a warning (see flatten.py).
"""

from collections.abc import Sequence

from heap_destination.domain.json_value import FlatScalar, JsonValue

JOIN_SEPARATOR = "||"
"""What Heap puts between the items of an array it stores."""


def native_items(ready: Sequence[JsonValue]) -> list[FlatScalar] | None:
    """The items of an array (its numbers already finite and integral ones integers, see
    flatten._json_ready) as a native array; None when an item is not a scalar."""
    items: list[FlatScalar] = []
    for item in ready:
        if isinstance(item, bool):
            items.append("true" if item else "false")
        elif isinstance(item, (str, int, float)):
            items.append(item)
        else:
            return None
    return items


def item_text(item: FlatScalar) -> str:
    """An item as the JSON text it is sent as (and Heap joins)."""
    return item if isinstance(item, str) else repr(item)


def joined_length(items: Sequence[FlatScalar]) -> int:
    """The length of the string Heap stores for `items`."""
    separators = len(JOIN_SEPARATOR) * max(0, len(items) - 1)
    return separators + sum(len(item_text(item)) for item in items)


def cut_to_joined_length(items: Sequence[FlatScalar], limit: int) -> list[FlatScalar]:
    """The leading items whose joined form fits in `limit` characters; the first item that
    does not fit is cut short when it is a string, left out when it is a number (a number
    cut short would be another number). Heap cuts the joined string at `limit` the same
    way, so what is sent is what Heap stores (but for a separator cut in half, or a
    number's digits, which Heap would keep and this leaves out)."""
    kept: list[FlatScalar] = []
    used = 0
    for item in items:
        separator = len(JOIN_SEPARATOR) if kept else 0
        room = limit - used - separator
        text = item_text(item)
        if len(text) <= room:
            kept.append(item)
            used += separator + len(text)
            continue
        if isinstance(item, str) and room > 0:
            kept.append(item[:room])
        break
    return kept
