from enum import Enum


class NestedMode(Enum):
    """How nested property values become Heap's flat properties."""

    FLATTEN = "flatten"
    INDEXED = "indexed"
    STRINGIFY = "stringify"
    DROP = "drop"
