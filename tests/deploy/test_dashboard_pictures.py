"""The dashboard's pictures (docs/dashboard/, made by `make dashboard-pictures`): the
script reads every row and panel of the shipped dashboard into queries Prometheus can run,
and the docs show one picture per row. Making the pictures takes minutes and a Prometheus;
that is `make dashboard-pictures`, not a test."""

from benchmarks.grafana_panels import legend, promql, read_rows
from tests.support.promql import DASHBOARD, ROOT, dashboard, panels

PICTURES = ROOT / "docs" / "dashboard"
OPERATIONS = ROOT / "docs" / "operations.md"


def test_every_row_and_panel_becomes_queries_without_grafana_variables() -> None:
    board = dashboard()
    _title, rows = read_rows(DASHBOARD)
    assert [row.title for row in rows] == [
        p["title"] for p in board["panels"] if p["type"] == "row"
    ]
    assert sum(len(row.panels) for row in rows) == len(list(panels(board)))
    for row in rows:
        for panel in row.panels:
            for query in panel.queries:
                assert "$" not in query.expr and "[[" not in query.expr, query.expr


def test_the_docs_show_one_picture_per_row() -> None:
    _title, rows = read_rows(DASHBOARD)
    pictures = sorted(PICTURES.glob("*.png"))
    assert len(pictures) == len(rows), "rows changed: run make dashboard-pictures"
    text = OPERATIONS.read_text()
    for picture in pictures:
        assert f"](dashboard/{picture.name})" in text


def test_variables_are_filled_in_as_grafana_does_with_all_selected() -> None:
    expr = 'rate(x{job=~"$job", app_id="${app_id}", kind!="$kind"}[$__rate_interval])'
    assert promql(expr) == 'rate(x{job=~".*", app_id=~".*", kind!~".*"}[5s])'


def test_legends_fill_in_labels_and_shorten_grpc_methods() -> None:
    labels = {"grpc_method": "heap_destination.v1.HeapDestinationService/TrackEvent"}
    assert legend("{{grpc_method}} {{grpc_status}}", labels) == "TrackEvent"
    assert legend("", {"app_id": "7", "instance": "a:1", "job": "j"}) == "app_id=7"
