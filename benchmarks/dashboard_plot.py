"""One PNG per dashboard row: its panels side by side, each titled like the panel, its series
named by their legend, the time axis in seconds into the run, the outage shaded."""

import math
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter, FuncFormatter

from benchmarks.grafana_panels import Panel

COLUMNS = 3
TITLE_POINTS = 14
PANEL_INCHES = (5.2, 3.2)
DPI = 80
MAX_LEGEND_ENTRIES = 8
FOOTNOTE_CHARACTERS_PER_INCH = 15
UNIT_LABELS = {
    "s": "seconds",
    "ms": "milliseconds",
    "bytes": "bytes",
    "decbytes": "bytes",
    "reqps": "requests/s",
    "ops": "per second",
    "short": "",
    "percentunit": "share",
    "none": "",
}


@dataclass(frozen=True)
class Line:
    name: str
    seconds: list[float]
    """Seconds into the run."""
    values: list[float]


@dataclass(frozen=True)
class Shading:
    start: float
    end: float
    label: str


def row_picture(
    title: str,
    panels: list[tuple[Panel, list[Line]]],
    shadings: list[Shading],
    seconds: float,
    path: Path,
    footnote: str,
) -> None:
    """Writes the row's panels, each with its lines over [0, seconds], as one PNG."""
    columns = min(COLUMNS, len(panels))
    rows = math.ceil(len(panels) / columns)
    size = (PANEL_INCHES[0] * columns, PANEL_INCHES[1] * rows + 1.0)
    figure = Figure(figsize=size, layout="constrained")  # no pyplot: no display, no state
    grid = figure.subplots(rows, columns, squeeze=False)
    shaded = "; ".join(f"shaded: {shading.label}" for shading in shadings)
    figure.suptitle(f"{title}\n", fontsize=TITLE_POINTS, fontweight="bold")  # room for `shaded`
    below_title = 1 - (0.08 + 1.3 * TITLE_POINTS / 72) / size[1]
    figure.text(0.5, below_title, shaded, fontsize=9, color="tab:red", ha="center", va="top")
    for axes, (panel, lines) in zip(grid.flat, panels, strict=False):
        _panel(axes, panel, lines, shadings)
        axes.set_xlim(0, seconds)
    for axes in list(grid.flat)[len(panels) :]:
        axes.set_visible(False)
    wrapped = textwrap.fill(
        footnote, width=int(FOOTNOTE_CHARACTERS_PER_INCH * PANEL_INCHES[0] * columns)
    )
    figure.supxlabel(wrapped, fontsize=8, color="dimgray", x=0.01, ha="left")
    figure.get_layout_engine().set(h_pad=0.12)  # type: ignore[union-attr, call-arg]
    figure.savefig(path, dpi=DPI, pil_kwargs={"optimize": True})


def _panel(axes: Axes, panel: Panel, lines: list[Line], shadings: list[Shading]) -> None:
    axes.set_title(panel.title, fontsize=11)
    for shading in shadings:
        axes.axvspan(shading.start, shading.end, color="tab:red", alpha=0.12)
    shown = sorted(lines, key=lambda line: -_peak(line))[:MAX_LEGEND_ENTRIES]
    for line in sorted(shown, key=lambda line: line.name):
        alone = _isolated(line.values)  # a point between gaps: a dot, not an invisible line
        marker = "." if alone else ""  # no marker at all: none in the legend either
        axes.plot(
            line.seconds,
            line.values,
            linewidth=1.4,
            label=line.name,
            marker=marker,
            markevery=alone,
        )
    if not lines:
        axes.text(0.5, 0.5, "no data", transform=axes.transAxes, ha="center", color="gray")
    axes.set_xlabel("seconds into the run", fontsize=8)
    axes.set_ylabel(UNIT_LABELS.get(panel.unit, panel.unit), fontsize=8)
    axes.yaxis.set_major_formatter(_formatter(panel.unit))
    axes.set_ylim(bottom=0)
    axes.tick_params(labelsize=8)
    axes.grid(alpha=0.3)
    if lines:
        axes.legend(fontsize=7, loc="best", framealpha=0.8)


def _formatter(unit: str) -> EngFormatter | FuncFormatter:
    if re.fullmatch(r"(dec)?bytes", unit):
        return EngFormatter(unit="B", places=0)
    return FuncFormatter(lambda value, _position: f"{value:g}")


def _peak(line: Line) -> float:
    return max((value for value in line.values if not math.isnan(value)), default=0.0)


def _isolated(values: list[float]) -> list[int]:
    """Indices of the values with no value (or a NaN) on either side."""
    padded = [math.nan, *values, math.nan]
    return [
        index
        for index, value in enumerate(values)
        if not math.isnan(value) and math.isnan(padded[index]) and math.isnan(padded[index + 2])
    ]
