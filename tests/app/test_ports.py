"""A listening address another process (here: this one) holds is refused, naming the
address and the process; gRPC shares a port only among a service's own workers."""

import os
import socket
from collections.abc import Iterator

import pytest

from heap_destination.app.ports import AddressInUse, is_busy, refuse_busy
from heap_destination.app.server import server_options
from heap_destination.app.settings import SettingsError


@pytest.fixture
def listening() -> Iterator[str]:
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield f"127.0.0.1:{listener.getsockname()[1]}"


def test_a_listened_address_is_refused_naming_it_and_its_process(listening: str) -> None:
    with pytest.raises(AddressInUse) as refusal:
        refuse_busy("--listen", listening)

    assert isinstance(refusal.value, SettingsError)  # so: exit code 2
    assert str(refusal.value).startswith(
        f"--listen {listening}: the address is in use by pid {os.getpid()} ("
    )
    assert "\n" not in str(refusal.value)


def test_the_wildcard_address_on_a_listened_port_is_busy_too(listening: str) -> None:
    assert is_busy(f"0.0.0.0:{listening.rpartition(':')[2]}")


def test_a_free_address_port_0_and_no_address_pass() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = f"127.0.0.1:{probe.getsockname()[1]}"

    refuse_busy("--listen", free)
    refuse_busy("--listen", "127.0.0.1:0")
    refuse_busy("--http-listen", None)


def test_grpc_reuses_the_port_only_among_workers() -> None:
    assert ("grpc.so_reuseport", 0) in server_options(4096)
    assert ("grpc.so_reuseport", 1) in server_options(4096, shared_port=True)
