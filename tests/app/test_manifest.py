"""The Kubernetes manifest declares, and the PodMonitor scrapes, every worker's metrics
port: worker N serves /metrics on the metrics port plus N (app/workers.py)."""

import re
from pathlib import Path

DEPLOY = Path(__file__).parents[2] / "deploy"


def test_every_workers_metrics_port_is_declared_and_scraped() -> None:
    manifest = (DEPLOY / "kubernetes.yaml").read_text()
    monitor = (DEPLOY / "podmonitor.yaml").read_text()
    [workers] = re.findall(r'args: \[.*"--workers", "(\d+)"\]', manifest)
    [base] = re.findall(r"HEAP_DESTINATION_METRICS_LISTEN, value: \"[\d.]+:(\d+)\"", manifest)
    wanted = [(f"metrics-{n}", int(base) + n) for n in range(int(workers))]

    declared = re.findall(r"\{name: (metrics-\d+), containerPort: (\d+)\}", manifest)
    scraped = re.findall(r"\{port: (metrics-\d+), path: /metrics\}", monitor)

    assert [(name, int(port)) for name, port in declared] == wanted
    assert scraped == [name for name, _ in wanted]
