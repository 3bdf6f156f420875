import logging

from prometheus_client import start_http_server

log = logging.getLogger(__name__)


def start_metrics_server(address: str | None) -> None:
    """Serves Prometheus text at http://ADDRESS/metrics from a background thread."""
    if address is None:
        return
    host, _, port = address.rpartition(":")
    try:
        server, _ = start_http_server(int(port), addr=host.strip("[]"))
    except OSError as error:
        raise OSError(f"cannot serve metrics on {address}: {error.strerror}") from error
    log.info("metrics on http://%s:%d/metrics", host, server.server_port)
