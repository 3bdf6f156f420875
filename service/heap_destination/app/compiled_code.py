"""Whether the per-event modules run compiled to C (setup.py compiles them with mypyc
where a C compiler works at install time) or as pure Python."""

import importlib.machinery
from types import ModuleType

from heap_destination.api import struct_wire
from heap_destination.domain import flatten

_PER_EVENT_MODULES: tuple[ModuleType, ...] = (flatten, struct_wire)


def per_event_code_compiled() -> bool:
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    return all((module.__file__ or "").endswith(suffixes) for module in _PER_EVENT_MODULES)
