"""A listening address is this process's alone, or its own workers': a busy one is refused
before anything binds it, naming the address and, when /proc tells, the process holding it.

gRPC binds with SO_REUSEPORT unless told not to, and the kernel then splits callers between
every process on the port; the checks here make a second service a clear error instead.
"""

import errno
import os
import socket
from pathlib import Path
from typing import Any

from heap_destination.app.options import SettingsError

_LISTEN_STATE = "0A"
_SHOWN_COMMAND_CHARS = 80


class AddressInUse(SettingsError):
    """Another process listens on an address this one is set to listen on."""

    def __init__(self, flag: str, address: str) -> None:
        holder = _holder(_port(address))
        by = f" by {holder}" if holder else ""
        super().__init__(f"{flag} {address}: the address is in use{by}")


def refuse_busy(flag: str, address: str | None) -> None:
    """Raises AddressInUse when a process listens on `address` (host:port; port 0 and
    None never are); an address that cannot be bound for another reason is left to the
    real bind to report."""
    if address is None or _port(address) == 0:
        return
    if is_busy(address):
        raise AddressInUse(flag, address)


def reserve_for_workers(flag: str, address: str | None) -> list[socket.socket]:
    """Sockets bound to `address` (not listening, so never given a connection) for a
    service's workers, which their parent holds while it runs. Bound with SO_REUSEPORT
    and without SO_REUSEADDR: the workers' SO_REUSEPORT binds (the same user's) pass
    beside them, while another process's plain bind, and refuse_busy's check, fail even
    when no worker listens (all starting, or starting again)."""
    if address is None:
        return []
    reserved = []
    try:
        for family, kind, protocol, _, place in _places(address):
            reservation = socket.socket(family, kind, protocol)
            reserved.append(reservation)
            reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            reservation.bind(place)
    except OSError as error:
        for reservation in reserved:
            reservation.close()
        if is_in_use_error(error):
            raise AddressInUse(flag, address) from None
        raise OSError(f"cannot listen on {address}: {error.strerror}") from error
    return reserved


def _places(address: str) -> list[tuple[Any, ...]]:
    host, _, port = address.rpartition(":")
    return socket.getaddrinfo(
        host.strip("[]"), int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )


def is_busy(address: str) -> bool:
    """Whether something listens on `address` now: a bind beside it fails with EADDRINUSE.
    SO_REUSEADDR lets the probe pass connections in TIME_WAIT, never a listener."""
    try:
        places = _places(address)
    except socket.gaierror:
        return False
    for family, kind, protocol, _, place in places:
        with socket.socket(family, kind, protocol) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(place)
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    return True
    return False


def is_in_use_error(error: OSError) -> bool:
    return error.errno == errno.EADDRINUSE


def _port(address: str) -> int:
    return int(address.rpartition(":")[2])


def _holder(port: int) -> str | None:
    """'pid N (command line)' of a process of this user listening on `port`, from /proc;
    None where /proc does not tell (another user's process, no /proc, a socket only bound,
    which /proc/net/tcp does not list)."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    links = {f"socket:[{inode}]" for inode in inodes}
    for pid in (entry for entry in os.listdir("/proc") if entry.isdigit()):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(_readlink(f"/proc/{pid}/fd/{fd}") in links for fd in fds):
                return _described(pid)
        except OSError:
            continue
    return None


def _described(pid: str) -> str:
    """'pid N (command line)'; a worker process, which multiprocessing started, by its
    parent's command line, which says what it serves."""
    command = _command_line(pid)
    if "multiprocessing" not in command:
        return f"pid {pid} ({command})"
    parent = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1]
    if parent == "1":  # its parent is gone
        return f"pid {pid} (a worker process whose parent is gone: {command})"
    return f"pid {pid}, a worker of pid {parent} ({_command_line(parent)})"


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rpartition(":")[2], 16)
            if local_port == port and fields[3] == _LISTEN_STATE:
                inodes.add(fields[9])
    return inodes


def _readlink(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


def _command_line(pid: str) -> str:
    """The process's command line, its program (and a script an interpreter runs) by name."""
    words = [
        w.decode(errors="replace")
        for w in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if w
    ]
    shown = [Path(w).name if n < 2 and w.startswith("/") else w for n, w in enumerate(words)]
    text = " ".join(shown)
    return text if len(text) <= _SHOWN_COMMAND_CHARS else text[: _SHOWN_COMMAND_CHARS - 1] + "…"
