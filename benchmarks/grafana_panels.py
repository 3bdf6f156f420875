"""A Grafana dashboard's panels as PromQL queries Prometheus can run as they are.

Reads the dashboard's JSON generically: `panels`, with the rows either flat (a "row" panel
followed by its panels) or collapsed (the row's own `panels`); each panel's title, unit
and `targets[].expr` with its `legendFormat`. Grafana's built-in variables and the
dashboard's template variables are replaced the way Grafana would with "All" selected.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RATE_INTERVAL = "5s"
"""`$__rate_interval` and `$__interval`: Grafana picks at least four scrape intervals;
the pictures' Prometheus scrapes every second."""
BUILT_IN = {"__rate_interval": RATE_INTERVAL, "__interval": RATE_INTERVAL, "__range": "5m"}
_MATCHER_ON_VARIABLE = re.compile(r'(\w+)\s*(=|=~|!=|!~)\s*"\$(?:\{(\w+)(?::\w+)?\}|(\w+))"')
_VARIABLE = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))|\[\[(\w+)\]\]")
_LEGEND_LABEL = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_GRPC_METHOD = re.compile(r"^[\w.]+\.\w+/(\w+)$")
"""`package.Service/Method`: shown as `Method`, to keep legends short."""


@dataclass(frozen=True)
class Query:
    expr: str
    """Runnable PromQL: no Grafana variables left."""
    legend: str
    """The target's legendFormat ("{{label}}" placeholders), or "" for the series' labels."""


@dataclass(frozen=True)
class Panel:
    title: str
    unit: str
    """Grafana's unit id (`s`, `bytes`, `reqps`, ...), or "" when none is set."""
    queries: tuple[Query, ...]


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


def read_rows(path: Path) -> tuple[str, list[Row]]:
    """The dashboard's title and its rows, each with the panels that have a query."""
    dashboard = json.loads(path.read_text())
    title = str(dashboard.get("title", path.stem))
    rows: list[tuple[str, list[Panel]]] = [(title, [])]
    for item in dashboard.get("panels", []):
        if item.get("type") == "row":
            rows.append((str(item.get("title", "")), []))
            members = item.get("panels", [])
        else:
            members = [item]
        rows[-1][1].extend(panel for raw in members if (panel := _panel(raw)) is not None)
    return title, [Row(name, tuple(panels)) for name, panels in rows if panels]


def _panel(raw: dict[str, Any]) -> Panel | None:
    queries = tuple(
        Query(promql(str(target["expr"])), str(target.get("legendFormat") or ""))
        for target in raw.get("targets", [])
        if target.get("expr") and not target.get("hide")
    )
    if not queries:
        return None
    unit = raw.get("fieldConfig", {}).get("defaults", {}).get("unit") or ""
    return Panel(str(raw.get("title", "")), str(unit), queries)


def promql(expr: str) -> str:
    """`expr` with Grafana's variables replaced: built-in intervals by their value, a
    template variable in a label matcher by "any value" (`label=~".*"`), elsewhere by `.*`."""

    def matcher(found: re.Match[str]) -> str:
        name = found[3] or found[4]
        if name in BUILT_IN:
            return found[0].replace(found[0][found[0].index('"') :], f'"{BUILT_IN[name]}"')
        negated = found[2].startswith("!")
        return f'{found[1]}{"!~" if negated else "=~"}".*"'

    def variable(found: re.Match[str]) -> str:
        name = found[1] or found[2] or found[3]
        return BUILT_IN.get(name, ".*")

    return _VARIABLE.sub(variable, _MATCHER_ON_VARIABLE.sub(matcher, expr))


def legend(template: str, labels: dict[str, str]) -> str:
    """A series' name: the legendFormat with its labels filled in, or its label set (a gRPC
    method's name without its package and service)."""
    labels = {name: _GRPC_METHOD.sub(r"\1", value) for name, value in labels.items()}
    if template and template != "__auto":
        return _LEGEND_LABEL.sub(lambda found: labels.get(found[1], ""), template).strip()
    shown = {name: value for name, value in labels.items() if name not in ("instance", "job")}
    return ", ".join(f"{name}={value}" for name, value in sorted(shown.items())) or "value"
