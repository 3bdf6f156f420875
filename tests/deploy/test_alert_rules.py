"""The shipped alert rules (deploy/prometheus/alerts.yaml): Prometheus accepts them, each
fires and stays quiet where its unit tests say, and each has its runbook."""

import re

from tests.deploy.promtool import needs_promtool, promtool
from tests.support.promql import ALERTS, ALERTS_TESTS, ROOT, alert_rules

OPERATIONS = ROOT / "docs" / "operations.md"


@needs_promtool
def test_promtool_accepts_the_rules() -> None:
    checked = promtool("check", "rules", ALERTS)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in checked.stdout


@needs_promtool
def test_the_rules_unit_tests_pass() -> None:
    tested = promtool("test", "rules", ALERTS_TESTS.name, cwd=ALERTS_TESTS.parent)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    text = ALERTS_TESTS.read_text()
    for rule in alert_rules():
        cases = re.findall(rf"alertname: {rule['alert']}\n\s+exp_alerts:( \[\])?", text)
        assert "" in cases, f"{rule['alert']}: no case where it fires"
        assert " []" in cases, f"{rule['alert']}: no case where it stays quiet"


def test_every_alert_has_a_severity_a_summary_and_its_runbook() -> None:
    anchors = {_anchor(title) for title in re.findall(r"^#+ (.+)$", OPERATIONS.read_text(), re.M)}
    for rule in alert_rules():
        assert rule["labels"]["severity"] in {"critical", "warning"}
        annotations = rule["annotations"]
        assert annotations["summary"] and annotations["description"]
        page, _, anchor = annotations["runbook_url"].partition("#")
        assert page == "docs/operations.md"
        assert anchor == _anchor(rule["alert"]) and anchor in anchors, rule["alert"]


def _anchor(title: str) -> str:
    """A heading's anchor, as GitHub makes it."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")
