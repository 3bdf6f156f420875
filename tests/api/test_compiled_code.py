"""`make setup` compiles the per-event modules wherever a C compiler works (setup.py)."""

import os
import shutil
import sysconfig

import pytest

from heap_destination.api import struct_flatten


def test_the_per_event_modules_are_compiled_where_a_c_compiler_is_at_hand() -> None:
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        pytest.skip(f"no C compiler ({compiler}) here: the modules stay pure Python")
    if os.environ.get("HEAP_DESTINATION_COMPILE") == "0":
        pytest.skip("HEAP_DESTINATION_COMPILE=0 keeps the modules pure Python")
    assert struct_flatten.WIRE_READER_COMPILED
