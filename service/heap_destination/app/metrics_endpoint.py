import logging

from prometheus_client import start_http_server

log = logging.getLogger(__name__)


def start_metrics_server(address: str | None) -> None:
    """Serves Prometheus text at http://ADDRESS/metrics from a background thread."""
    if address is None:
        return
    host, _, port = address.rpartition(":")
    start_http_server(int(port), addr=host.strip("[]"))
    log.info("metrics on http://%s/metrics", address)
