"""How deep objects and arrays may nest in one property value."""

from collections.abc import Iterable

from heap_destination.domain.json_value import JsonValue
from heap_destination.domain.limits import MAX_NESTING_DEPTH

TOO_DEEP = f"values may nest at most {MAX_NESTING_DEPTH} levels of objects and arrays"


def too_deep_path(key: str, value: JsonValue) -> str | None:
    """The path (key.child[index]) of the first object or array in the property `key` that
    nests deeper than MAX_NESTING_DEPTH, in sorted key order; None if there is none.

    The value of a property is level 1. The search stops one level past the limit, so its
    recursion stays shallow whatever the input."""
    if not _deeper_than(value, MAX_NESTING_DEPTH):
        return None
    steps = _steps_too_deep(value, 1)
    if steps is None:
        return None
    return path_of_steps(key, steps)


def path_of_steps(key: str, steps: list[str | int]) -> str:
    """The path (key.child[index]) that `steps`, last first, lead to from the property `key`."""
    return key + "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in reversed(steps))


def _steps_too_deep(value: JsonValue, level: int) -> list[str | int] | None:
    """The steps into `value` (at `level`) to the first object or array too deep, last first."""
    children: Iterable[tuple[str | int, JsonValue]]
    if isinstance(value, list):
        children = enumerate(value)
    elif isinstance(value, dict):
        children = [(key, value[key]) for key in sorted(value)]
    else:
        return None
    if level > MAX_NESTING_DEPTH:
        return []
    for step, child in children:
        steps = _steps_too_deep(child, level + 1)
        if steps is not None:
            steps.append(step)
            return steps
    return None


def _deeper_than(value: JsonValue, levels: int) -> bool:
    """Whether objects and arrays nest in `value` more than `levels` deep; quicker than
    finding where (no sorting), and stops one level past `levels`."""
    if isinstance(value, dict):
        children: Iterable[JsonValue] = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return False
    return levels == 0 or any(_deeper_than(child, levels - 1) for child in children)
