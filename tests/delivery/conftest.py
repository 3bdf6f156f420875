from collections.abc import Iterator

import pytest

from heap_destination.sim import HeapSimulator


@pytest.fixture
def sim() -> Iterator[HeapSimulator]:
    with HeapSimulator("127.0.0.1", 0) as running:
        yield running
