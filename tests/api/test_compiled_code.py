"""`make setup` compiles the per-event modules wherever a C compiler works (setup.py)."""

import os

import pytest

from heap_destination.api.structs import properties
from tests.support.c_compiler import c_compiler_missing


def test_the_per_event_modules_are_compiled_where_a_c_compiler_is_at_hand() -> None:
    if (missing := c_compiler_missing()) is not None:
        pytest.skip(missing)
    if os.environ.get("HEAP_DESTINATION_COMPILE") == "0":
        pytest.skip("HEAP_DESTINATION_COMPILE=0 keeps the modules pure Python")
    assert properties.WIRE_READER_COMPILED
