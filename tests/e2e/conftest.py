from collections.abc import Iterator

import pytest

from tests.support import client_programs
from tests.support.processes import free_address, start_simulator


@pytest.fixture
def simulator() -> Iterator[str]:
    """The Heap simulator as a process of its own; its base URL."""
    address = free_address()
    process = start_simulator(address)
    yield f"http://{address}"
    process.stop()


@pytest.fixture
def service_and_simulator() -> Iterator[tuple[str, str]]:
    """A service process delivering to a simulator process: (target, simulator URL)."""
    with client_programs.service_and_simulator() as running:
        yield running
