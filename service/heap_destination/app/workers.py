"""Several server processes on one port (SO_REUSEPORT): Python serves one core per process.

The kernel spreads new connections over the workers. Each worker has its own delivery
engine and, when metrics are on, its own /metrics port: the configured one plus its index.
"""

import asyncio
import dataclasses
import logging
import multiprocessing
import os
import signal
import socket
import sys
from types import FrameType

from heap_destination.app.logs import configure_logging
from heap_destination.app.metrics_endpoint import start_metrics_server
from heap_destination.app.server import serve
from heap_destination.app.settings import ServiceSettings, SettingsError

log = logging.getLogger(__name__)


def run_workers(settings: ServiceSettings) -> int:
    """Runs settings.workers processes until SIGTERM/SIGINT; returns the worst exit code."""
    settings = _with_fixed_port(settings)
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_worker, args=(_for_worker(settings, index),), daemon=False)
        for index in range(settings.workers)
    ]
    for worker in workers:
        worker.start()
    log.info(
        "started %d workers listening on %s",
        len(workers),
        settings.listen,
        extra={"pids": [w.pid for w in workers]},
    )

    def forward(signum: int, _: FrameType | None) -> None:
        for worker in workers:
            if worker.pid is not None and worker.is_alive():
                os.kill(worker.pid, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for worker in workers:
        worker.join()
    return max((worker.exitcode or 0) for worker in workers)


def _worker(settings: ServiceSettings) -> None:
    configure_logging(settings.log_format, settings.log_level)
    start_metrics_server(settings.metrics_listen)
    # The exit codes of `heap-destination serve` (see cli.main), with its one-line reasons.
    try:
        asyncio.run(serve(settings))
    except SettingsError as error:
        print(f"heap-destination: {error}", file=sys.stderr)
        sys.exit(2)
    except OSError as error:
        print(f"heap-destination: {error}", file=sys.stderr)
        sys.exit(1)


def _with_fixed_port(settings: ServiceSettings) -> ServiceSettings:
    """Workers must share one port, so port 0 is resolved to a free one first."""
    host, _, port = settings.listen.rpartition(":")
    if port != "0":
        return settings
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host.strip("[]"), 0))
        free = probe.getsockname()[1]
    return dataclasses.replace(settings, listen=f"{host}:{free}")


def _for_worker(settings: ServiceSettings, index: int) -> ServiceSettings:
    if settings.metrics_listen is None or settings.metrics_listen.endswith(":0"):
        return settings
    host, _, port = settings.metrics_listen.rpartition(":")
    return dataclasses.replace(settings, metrics_listen=f"{host}:{int(port) + index}")
