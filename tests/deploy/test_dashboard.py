"""The shipped Grafana dashboard (deploy/grafana/heap-destination.json): it parses, each
panel queries the chosen Prometheus, and Prometheus parses each of its expressions."""

import json
from pathlib import Path

from tests.deploy.promtool import needs_promtool, promtool
from tests.support.promql import dashboard, dashboard_exprs, panels

ROWS = [
    "Calls by method and code",
    "Events delivered and failed, by app and endpoint",
    "Heap answers by status",
    "Stored backlog and oldest age, by app",
    "Dead letters and pauses",
    "Rate-limit waits",
    "Memory and in-flight work",
]


def test_the_dashboard_has_its_rows_and_variables() -> None:
    board = dashboard()
    assert board["schemaVersion"] >= 39
    assert [p["title"] for p in board["panels"] if p["type"] == "row"] == ROWS
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert {"job", "app_id"} <= set(variables)


def test_every_panel_queries_the_chosen_prometheus() -> None:
    shown = list(panels(dashboard()))
    assert len(shown) >= len(ROWS) * 2
    for panel in shown:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]
            assert target["datasource"]["uid"] == "${datasource}"


@needs_promtool
def test_prometheus_parses_every_expression(tmp_path: Path) -> None:
    """Each expression (its variables filled in as Grafana would) as a recording rule,
    which `promtool check rules` parses as Prometheus would."""
    rules = tmp_path / "dashboard_rules.json"
    rules.write_text(
        json.dumps(
            {
                "groups": [
                    {
                        "name": "dashboard",
                        "rules": [
                            {"record": f"dashboard:panel_{n}", "expr": expr}
                            for n, expr in enumerate(dashboard_exprs())
                        ],
                    }
                ]
            }
        )
    )
    checked = promtool("check", "rules", rules)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(dashboard_exprs())} rules found" in checked.stdout
