"""A real Prometheus (Debian's `prometheus` package) as a child process: its own config,
its own free port and its own TSDB directory, scraping the given targets every second."""

import asyncio
import contextlib
import re
import shutil
import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from benchmarks import control, processes

SCRAPE_INTERVAL_SECONDS = 1
READY_TIMEOUT = 60.0
INSTALL_HINT = "make client-deps as root, or apt-get install prometheus (Debian's package)"
READY = re.compile(r"Start listening for connections.*address=[\d.]+:(?P<port>\d+)")


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    times: list[float]
    """Unix times."""
    values: list[float]


def binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        raise SystemExit(f"prometheus is not installed: {INSTALL_HINT}")
    return found


def free_port() -> int:
    """A port free now (Prometheus takes no port 0); the race with another process taking
    it before Prometheus does is tolerable for a picture, never used in tests."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(directory: Path, targets: Sequence[str]) -> Path:
    config = directory / "prometheus.yml"
    listed = ", ".join(f"'{target}'" for target in targets)
    config.write_text(
        "global:\n"
        f"  scrape_interval: {SCRAPE_INTERVAL_SECONDS}s\n"
        f"  scrape_timeout: {SCRAPE_INTERVAL_SECONDS}s\n"
        "scrape_configs:\n"
        "  - job_name: heap-destination\n"
        f"    static_configs: [{{targets: [{listed}]}}]\n"
    )
    return config


@contextlib.contextmanager
def prometheus(directory: Path, targets: Sequence[str]) -> Iterator[str]:
    """Runs Prometheus scraping `targets` (host:port) with its files under `directory`;
    yields its base URL, and stops it on the way out."""
    port = free_port()
    command = [
        binary(),
        f"--config.file={write_config(directory, targets)}",
        f"--storage.tsdb.path={directory / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=1d",
    ]
    with processes.child(command, directory / "prometheus.log", READY, READY_TIMEOUT):
        yield f"http://127.0.0.1:{port}"


async def wait_ready(http: aiohttp.ClientSession, url: str) -> None:
    """Until Prometheus has scraped every target once."""
    give_up = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < give_up:
        with contextlib.suppress(aiohttp.ClientError):
            answer = await control.get_json(http, f"{url}/api/v1/targets")
            active = answer["data"]["activeTargets"]
            if active and all(target["health"] == "up" for target in active):
                return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"Prometheus at {url} scraped no target within {READY_TIMEOUT} s")


async def query_range(
    http: aiohttp.ClientSession, url: str, expr: str, start: float, end: float, step: float
) -> list[Series]:
    """The expression's series over [start, end]; NaN samples are left out."""
    params = {"query": expr, "start": str(start), "end": str(end), "step": str(step)}
    async with http.get(f"{url}/api/v1/query_range", params=params) as response:
        answer = await response.json()
    if answer.get("status") != "success":
        raise RuntimeError(f"Prometheus refused {expr!r}: {answer.get('error')}")
    found: list[Series] = []
    for result in answer["data"]["result"]:
        samples = [(float(t), float(v)) for t, v in result["values"] if v != "NaN"]
        found.append(
            Series(dict(result["metric"]), [t for t, _ in samples], [v for _, v in samples])
        )
    return found
