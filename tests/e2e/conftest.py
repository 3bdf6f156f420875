from collections.abc import Iterator
from pathlib import Path

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


E2E_TESTS = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is an e2e test (`-m 'not e2e'` leaves them out)."""
    for item in items:
        if item.path.is_relative_to(E2E_TESTS):
            item.add_marker(pytest.mark.e2e)
