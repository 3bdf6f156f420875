"""What the shipped dashboard and alert rules ask Prometheus: their PromQL expressions, and
the metric names those expressions read."""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "heap-destination.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yaml"
ALERTS_TESTS = ROOT / "deploy" / "prometheus" / "alerts_test.yaml"

# Grafana's variables, as a query would have them filled in.
_GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$job": ".*", "$app_id": ".*"}

_KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right"}
    | {"and", "or", "unless", "bool", "offset", "inf", "nan"}
)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w.:])[A-Za-z_:][A-Za-z0-9_:]*(?=\s*(\(?))")


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The dashboard's panels that show data (rows left out), in rows or not."""
    for panel in board["panels"]:
        if panel["type"] == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def dashboard_exprs() -> list[str]:
    """Each panel target's expression, with Grafana's variables filled in."""
    exprs = []
    for panel in panels(dashboard()):
        for target in panel["targets"]:
            expr = target["expr"]
            for variable, value in _GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            exprs.append(expr)
    return exprs


def alert_rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = [
        rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]
    ]
    return rules


def alert_exprs() -> list[str]:
    return [str(rule["expr"]) for rule in alert_rules()]


def metric_names(expr: str) -> set[str]:
    """The metric names an expression reads: its identifiers that are neither functions
    (followed by a parenthesis), keywords, label names (inside braces or groupings), nor
    numbers and durations."""
    bare = _STRING.sub('""', expr)
    bare = _MATCHERS.sub(" ", bare)
    bare = _RANGE.sub(" ", bare)
    bare = _GROUPING.sub(" ", bare)
    return {
        match.group(0)
        for match in _IDENTIFIER.finditer(bare)
        if not match.group(1) and match.group(0).lower() not in _KEYWORDS
    }
