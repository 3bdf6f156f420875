"""A client hanging up mid-answer is no error worth a traceback; other failures still are."""

from collections.abc import Iterator

import pytest

from heap_destination.sim.handler import SimulatorHTTPServer
from heap_destination.sim.state import SimulatorState


@pytest.fixture
def server() -> Iterator[SimulatorHTTPServer]:
    with SimulatorHTTPServer(("127.0.0.1", 0), SimulatorState()) as running:
        yield running


def _handle(server: SimulatorHTTPServer, error: Exception) -> None:
    try:
        raise error
    except Exception:
        server.handle_error(None, ("127.0.0.1", 1))


@pytest.mark.parametrize("error", [BrokenPipeError(32, "Broken pipe"), ConnectionResetError()])
def test_a_client_hanging_up_prints_nothing(
    server: SimulatorHTTPServer, error: Exception, capsys: pytest.CaptureFixture[str]
) -> None:
    _handle(server, error)

    assert capsys.readouterr().err == ""


def test_any_other_failure_prints_its_traceback(
    server: SimulatorHTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _handle(server, ValueError("a bug"))

    assert "ValueError: a bug" in capsys.readouterr().err
