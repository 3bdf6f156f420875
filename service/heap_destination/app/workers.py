"""Several server processes on one port (SO_REUSEPORT): Python serves one core per process.

Only the workers of one service share it: the parent refuses a port another process
holds, then holds a reservation of it (bound, not listening) while it runs, which the
workers' binds pass and any other service's fail (app/ports.py); a single process binds
without SO_REUSEPORT, so neither can join the other.

The kernel spreads new connections over the workers. Each worker has its own delivery
engine and, when metrics are on, its own /metrics port: the configured one plus its index.

The parent keeps the configured number serving. A worker that dies while the service runs
(a crash, SIGKILL, the OOM killer) is logged and started again after a back-off
(RestartBackoff); until it serves again, every worker answers health NOT_SERVING
(serving_workers). A worker that cannot start stops the service with its exit code, as
one process would stop, since starting it again cannot mend a bad setting, a port in use
or a store that cannot be opened: an error exit (1, or 2 for a setting) before its place
ever served, or a settings error at any time. SIGTERM or SIGINT goes to every worker;
none is started again after that. SIGHUP goes to every worker, which reloads its tokens
and TLS files (app/reload.py).
"""

import asyncio
import collections
import contextlib
import dataclasses
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from types import FrameType

from heap_destination.app.logs import configure_logging
from heap_destination.app.metrics_endpoint import start_metrics_server
from heap_destination.app.ports import refuse_busy, reserve_for_workers
from heap_destination.app.restart_backoff import RestartBackoff
from heap_destination.app.server import serve
from heap_destination.app.serving_workers import ServingWorkers, WorkerPlace
from heap_destination.app.settings import ServiceSettings, SettingsError

log = logging.getLogger(__name__)

# The command's exit codes, which a worker shares.
EXIT_ERROR = 1
EXIT_SETTINGS = 2
EXIT_INTERRUPTED = 130


def run_workers(settings: ServiceSettings) -> int:
    """Runs settings.workers processes until SIGTERM/SIGINT; returns the worst exit code of
    the workers that stopped then, or the code of a worker that could not start."""
    settings = _with_fixed_port(settings)
    _refuse_busy_ports(settings)
    reserved = [
        *reserve_for_workers("--listen", settings.listen),
        *reserve_for_workers("--http-listen", settings.http_listen),
    ]
    try:
        return _Supervisor(settings).run()
    finally:
        for reservation in reserved:
            reservation.close()


@dataclass
class _Place:
    """One of the configured workers, across its restarts."""

    index: int
    settings: ServiceSettings
    process: BaseProcess | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    ever_served: bool = False
    backoff: RestartBackoff = field(default_factory=RestartBackoff)


class _Supervisor:
    def __init__(self, settings: ServiceSettings) -> None:
        self._settings = settings
        self._context = multiprocessing.get_context("spawn")
        self._serving = ServingWorkers(self._context, settings.workers)
        self._places = [_Place(i, _for_worker(settings, i)) for i in range(settings.workers)]
        # Signal handlers only note the signal and wake the loop, which forwards it.
        self._received: collections.deque[int] = collections.deque()
        self._wakeup_read, self._wakeup_write = os.pipe()
        os.set_blocking(self._wakeup_write, False)
        self._stopping = False
        self._failed: int | None = None
        self._exit_codes: list[int] = []

    def run(self) -> int:
        previous = {
            signum: signal.signal(signum, self._on_signal)
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        }
        try:
            for place in self._places:
                self._start(place)
            log.info(
                "started %d workers listening on %s",
                len(self._places),
                self._settings.listen,
                extra={"pids": [place.process.pid for place in self._places if place.process]},
            )
            while True:
                self._forward_signals()
                if self._stopping and not any(place.process for place in self._places):
                    break
                self._wait()
                self._reap()
                self._restart_due()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            os.close(self._wakeup_read)
            os.close(self._wakeup_write)
        if self._failed is not None:
            return self._failed
        return max([0, *self._exit_codes])

    def _on_signal(self, signum: int, _: FrameType | None) -> None:
        self._received.append(signum)
        with contextlib.suppress(BlockingIOError):  # a full pipe: the loop is woken anyway
            os.write(self._wakeup_write, b"\0")

    def _forward_signals(self) -> None:
        while self._received:
            signum = self._received.popleft()
            if signum == signal.SIGHUP:
                self._forward_reload()
            else:
                self._stop(signum)

    def _forward_reload(self) -> None:
        living = [p.process for p in self._places if p.process is not None and p.process.is_alive()]
        for process in living:
            os.kill(_pid(process), signal.SIGHUP)
        log.info("SIGHUP sent to %d workers: they reload their tokens and TLS files", len(living))

    def _stop(self, signum: int) -> None:
        self._stopping = True
        for place in self._places:
            if place.process is not None and place.process.is_alive():
                os.kill(_pid(place.process), signum)

    def _wait(self) -> None:
        """Until a worker ends, a signal comes, or the next restart is due."""
        due = [place.restart_at for place in self._places if place.restart_at is not None]
        timeout = None
        if due and not self._stopping:
            timeout = max(0.0, min(due) - time.monotonic())
        sentinels = [place.process.sentinel for place in self._places if place.process]
        ready = multiprocessing.connection.wait([*sentinels, self._wakeup_read], timeout)
        if self._wakeup_read in ready:
            os.read(self._wakeup_read, 512)

    def _reap(self) -> None:
        for place in self._places:
            process = place.process
            if process is None or process.is_alive():
                continue
            pid, code = _pid(process), process.exitcode
            assert code is not None
            process.close()
            place.process = None
            place.ever_served |= self._serving.serves(place.index)
            self._serving.clear(place.index)
            if self._stopping:
                self._exit_codes.append(code)
            elif code == EXIT_SETTINGS or (code > 0 and not place.ever_served):
                self._fail(place, pid, code)
            else:
                self._schedule_restart(place, pid, code)

    def _fail(self, place: _Place, pid: int, code: int) -> None:
        log.error(
            "worker %d (pid %d) could not start (exit code %d); stopping the service",
            place.index,
            pid,
            code,
            extra={"worker": place.index, "pid": pid, "exit_code": code},
        )
        self._failed = code
        self._stop(signal.SIGTERM)

    def _schedule_restart(self, place: _Place, pid: int, code: int) -> None:
        lived = time.monotonic() - place.started_at
        delay = place.backoff.delay_after_death(lived)
        place.restart_at = time.monotonic() + delay
        how: dict[str, int | str]
        if code < 0:
            name = _signal_name(-code)
            ended, how = f"was killed by {name}", {"signal": name}
        else:
            ended, how = f"exited with code {code}", {"exit_code": code}
        log.error(
            "worker %d (pid %d) %s after %.1f s; starting it again in %.1f s; "
            "health is NOT_SERVING until it serves",
            place.index,
            pid,
            ended,
            lived,
            delay,
            extra={"worker": place.index, "pid": pid, **how, "restart_in_seconds": delay},
        )

    def _restart_due(self) -> None:
        now = time.monotonic()
        for place in self._places:
            if self._stopping or place.restart_at is None or place.restart_at > now:
                continue
            place.restart_at = None
            self._start(place)
            assert place.process is not None
            log.info(
                "worker %d started again (pid %d)",
                place.index,
                place.process.pid,
                extra={"worker": place.index, "pid": place.process.pid},
            )

    def _start(self, place: _Place) -> None:
        process = self._context.Process(
            target=_worker,
            args=(place.settings, WorkerPlace(self._serving, place.index)),
            daemon=False,
        )
        process.start()
        place.process = process
        place.started_at = time.monotonic()


def _pid(process: BaseProcess) -> int:
    assert process.pid is not None
    return process.pid


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _worker(settings: ServiceSettings, place: WorkerPlace) -> None:
    # Until it serves, a reload asked for is ignored: it then reads the files (app/server.py).
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    configure_logging(settings.log_format, settings.log_level)
    sys.exit(_serve_as_worker(settings, place))


def _serve_as_worker(settings: ServiceSettings, place: WorkerPlace) -> int:
    """Serves until SIGTERM/SIGINT; a failure to start exits as the command would."""
    try:
        start_metrics_server(settings.metrics_listen)
        asyncio.run(serve(settings, place))
    except SettingsError as error:
        print(f"heap-destination: {error}", file=sys.stderr)
        return EXIT_SETTINGS
    except OSError as error:
        print(f"heap-destination: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return 0


def _with_fixed_port(settings: ServiceSettings) -> ServiceSettings:
    """Workers must share their ports, so port 0 is resolved to a free one first (for
    gRPC and for the HTTP intake)."""
    http_listen = settings.http_listen and _fixed(settings.http_listen)
    return dataclasses.replace(settings, listen=_fixed(settings.listen), http_listen=http_listen)


def _refuse_busy_ports(settings: ServiceSettings) -> None:
    """Raises AddressInUse for a port another process holds. The workers bind the shared
    ports with SO_REUSEPORT, which the kernel would let another group of workers of the
    same user join; this check, and the reservation the parent then holds, refuse that."""
    refuse_busy("--listen", settings.listen)
    refuse_busy("--http-listen", settings.http_listen)
    for index in range(settings.workers):
        refuse_busy("--metrics-listen", _for_worker(settings, index).metrics_listen)


def _fixed(address: str) -> str:
    host, _, port = address.rpartition(":")
    if port != "0":
        return address
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host.strip("[]"), 0))
        free = probe.getsockname()[1]
    return f"{host}:{free}"


def _for_worker(settings: ServiceSettings, index: int) -> ServiceSettings:
    if settings.metrics_listen is None or settings.metrics_listen.endswith(":0"):
        return settings
    host, _, port = settings.metrics_listen.rpartition(":")
    return dataclasses.replace(settings, metrics_listen=f"{host}:{int(port) + index}")
