"""The pictures of the on-call dashboard in docs/dashboard/: what its panels show during a
load run with an outage of Heap.

Starts the Heap simulator, the service (a SQLite store, for ack mode STORED) and a real
Prometheus (Debian's `prometheus`) that scrapes the service's /metrics every second. Runs the
load of dashboard_load.py: steady traffic, then Heap answering 503 for a while, then the
drain into Heap's rate limit. Then it runs every panel's own expressions from the Grafana
dashboard (deploy/grafana/heap-destination.json) as range queries over the run, and plots
each dashboard row as one PNG.

Run with `make dashboard-pictures`; PICTURES_* variables change the timeline and the load
(see dashboard_load.Plan), `--dashboard` and `--out` the files.
"""

import argparse
import asyncio
import math
import re
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import aiohttp
import grpc

from benchmarks import control, dashboard_load, dashboard_plot, processes, prometheus_server
from benchmarks.grafana_panels import Panel, Row, legend, read_rows
from benchmarks.stored import METRICS_READY
from heap_destination.v1 import service_pb2_grpc

ROOT = Path(__file__).resolve().parent.parent
STEP_SECONDS = 1.0
LEAD_SECONDS = 5.0
"""Idle seconds shown before the load starts."""
DRAIN_TIMEOUT = 60.0
"""Seconds after the load that the backlog may take to drain before the run ends anyway."""
TAIL_SECONDS = 8.0
"""Idle seconds shown once the backlog drained."""
BACKLOG = "sum(heap_destination_stored_backlog_events)"


@dataclass(frozen=True)
class Run:
    start: float
    end: float
    outage_start: float
    outage_end: float
    outcomes: dashboard_load.Outcomes


def _exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # so the child processes are stopped on the way out


def main() -> int:
    signal.signal(signal.SIGTERM, _exit)
    arguments = _arguments()
    if not arguments.dashboard.is_file():
        raise SystemExit(f"no dashboard at {arguments.dashboard}")
    title, rows = read_rows(arguments.dashboard)
    plan = dashboard_load.Plan.from_env()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="heap-pictures-") as temporary:
        scratch = arguments.keep or Path(temporary)
        scratch.mkdir(parents=True, exist_ok=True)
        files = asyncio.run(_pictures(scratch, rows, plan, arguments.out))
    print(f"dashboard {title!r}: {len(files)} pictures in {arguments.out}")
    for path in files:
        print(
            f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}"
            f"  {path.stat().st_size / 1024:.0f} KiB"
        )
    print(f"total {time.monotonic() - started:.0f} s")
    return 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument(
        "--dashboard", type=Path, default=ROOT / "deploy" / "grafana" / "heap-destination.json"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "dashboard")
    parser.add_argument(
        "--keep", type=Path, help="a directory to keep the logs, the store and the TSDB in"
    )
    return parser.parse_args()


async def _pictures(
    scratch: Path, rows: list[Row], plan: dashboard_load.Plan, out: Path
) -> list[Path]:
    simulate = [str(processes.BIN / "heap-destination"), "simulate", "--listen", "127.0.0.1:0"]
    ready = processes.SIMULATOR_READY
    with processes.child(simulate, scratch / "sim.log", ready, processes.START_TIMEOUT) as sim:
        heap_url = f"http://127.0.0.1:{sim.port}"
        without_limits = [
            arg for arg in processes.serve_command(heap_url) if "--rate-limit" not in arg
        ]
        serve = [*without_limits, *plan.service_limits(), f"--store=sqlite:{scratch / 'store.db'}"]
        log = scratch / "service.log"
        with processes.child(serve, log, processes.SERVICE_READY, processes.START_TIMEOUT) as svc:
            found = METRICS_READY.search(log.read_text(errors="replace"))
            if found is None:
                raise RuntimeError("the service logged no metrics address")
            target = f"127.0.0.1:{found['port']}"
            with prometheus_server.prometheus(scratch, [target]) as prometheus:
                http = control.control_session()
                try:
                    await prometheus_server.wait_ready(http, prometheus)
                    run = await _load(http, heap_url, prometheus, svc.port, plan)
                    print(f"load: {plan.describe()}; calls: {run.outcomes.summary()}")
                    return await _plot_rows(http, prometheus, rows, run, plan, out)
                except Exception:
                    print(f"service log (last lines):\n{svc.log_tail()}", file=sys.stderr)
                    raise
                finally:
                    await http.close()


async def _load(
    http: aiohttp.ClientSession,
    heap_url: str,
    prometheus: str,
    port: int,
    plan: dashboard_load.Plan,
) -> Run:
    await dashboard_load.set_up_heap(http, heap_url, plan)
    start = time.time()
    await asyncio.sleep(LEAD_SECONDS)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = service_pb2_grpc.HeapDestinationServiceStub(channel)
        outcomes = await dashboard_load.run(stub, http, heap_url, plan)
    await _drained(http, prometheus)
    await asyncio.sleep(TAIL_SECONDS)
    outage_start = outcomes.outage_started
    return Run(start, time.time(), outage_start, outage_start + plan.outage_seconds, outcomes)


async def _drained(http: aiohttp.ClientSession, prometheus: str) -> None:
    """Until Prometheus saw the service's backlog at zero (or DRAIN_TIMEOUT passed)."""
    give_up = time.monotonic() + DRAIN_TIMEOUT
    while time.monotonic() < give_up:
        now = time.time()
        series = await prometheus_server.query_range(http, prometheus, BACKLOG, now, now, 1)
        if series and series[0].values and series[0].values[-1] == 0:
            return
        await asyncio.sleep(1)
    print(f"the backlog did not drain within {DRAIN_TIMEOUT:.0f} s", file=sys.stderr)


async def _plot_rows(
    http: aiohttp.ClientSession,
    prometheus: str,
    rows: list[Row],
    run: Run,
    plan: dashboard_load.Plan,
    out: Path,
) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    outage = dashboard_plot.Shading(
        run.outage_start - run.start,
        run.outage_end - run.start,
        f"Heap (the simulator) answers every request 503 for {plan.outage_seconds} s",
    )
    footnote = f"load from {LEAD_SECONDS:g} s on the axis: {plan.describe()}"
    files = []
    for number, row in enumerate(rows, 1):
        panels = [(panel, await _lines(http, prometheus, panel, run)) for panel in row.panels]
        path = out / f"{number:02d}-{_slug(row.title)}.png"
        seconds = run.end - run.start
        dashboard_plot.row_picture(row.title, panels, [outage], seconds, path, footnote)
        files.append(path)
    return files


async def _lines(
    http: aiohttp.ClientSession, prometheus: str, panel: Panel, run: Run
) -> list[dashboard_plot.Line]:
    lines = []
    for query in panel.queries:
        found = await prometheus_server.query_range(
            http, prometheus, query.expr, run.start, run.end, STEP_SECONDS
        )
        lines += [
            dashboard_plot.Line(
                legend(query.legend, series.labels),
                *_broken_at_gaps([moment - run.start for moment in series.times], series.values),
            )
            for series in found
        ]
    return lines


def _broken_at_gaps(seconds: list[float], values: list[float]) -> tuple[list[float], list[float]]:
    """The samples with a NaN (no line drawn) where steps without a value lie between two,
    as Grafana leaves a gap rather than joining them."""
    kept_seconds: list[float] = []
    kept_values: list[float] = []
    for moment, value in zip(seconds, values, strict=True):
        if kept_seconds and moment - kept_seconds[-1] > 1.5 * STEP_SECONDS:
            kept_seconds.append(kept_seconds[-1] + STEP_SECONDS)
            kept_values.append(math.nan)
        kept_seconds.append(moment)
        kept_values.append(value)
    return kept_seconds, kept_values


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "row"


if __name__ == "__main__":
    sys.exit(main())
