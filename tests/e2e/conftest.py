from collections.abc import Iterator

import pytest

from tests.support.processes import free_address, start_simulator


@pytest.fixture
def simulator() -> Iterator[str]:
    """The Heap simulator as a process of its own; its base URL."""
    address = free_address()
    process = start_simulator(address)
    yield f"http://{address}"
    process.stop()
