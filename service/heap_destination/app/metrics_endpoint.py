import logging

from prometheus_client import start_http_server

from heap_destination.app.ports import AddressInUse, is_in_use_error, refuse_busy

log = logging.getLogger(__name__)


def start_metrics_server(address: str | None) -> None:
    """Serves Prometheus text at http://ADDRESS/metrics from a background thread; a busy
    address is AddressInUse (its server binds without SO_REUSEPORT, so alone)."""
    if address is None:
        return
    refuse_busy("--metrics-listen", address)
    host, _, port = address.rpartition(":")
    try:
        server, _ = start_http_server(int(port), addr=host.strip("[]"))
    except OSError as error:
        if is_in_use_error(error):
            raise AddressInUse("--metrics-listen", address) from None
        raise OSError(f"cannot serve metrics on {address}: {error.strerror}") from error
    log.info("metrics on http://%s:%d/metrics", host, server.server_port)
