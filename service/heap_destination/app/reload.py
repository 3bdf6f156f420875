"""SIGHUP: the tokens file and the TLS certificate and key read again. A file that cannot
be used is refused with one log line naming it and the reason, and the one in force stays."""

import logging
import ssl

from heap_destination.app.http_intake import write_keys_line
from heap_destination.app.settings import ServiceSettings
from heap_destination.app.tls import ServerTls
from heap_destination.app.tokens import read_tokens_file

log = logging.getLogger(__name__)


class Reloader:
    def __init__(
        self, settings: ServiceSettings, tls: ServerTls | None, http_tls: ssl.SSLContext | None
    ) -> None:
        self._settings = settings
        self._tls = tls
        self._http_tls = http_tls

    def reload(self) -> None:
        self._reload_tokens(logging.INFO)
        self._reload_tls(logging.INFO)

    def catch_up(self) -> None:
        """Reads the files as a reload would, logging only a refusal: for a worker that
        starts while the service runs."""
        self._reload_tokens(logging.DEBUG)
        self._reload_tls(logging.DEBUG)

    def _reload_tokens(self, level: int) -> None:
        tokens, path = self._settings.tokens, self._settings.tokens_file
        if tokens is None or path is None:
            log.log(level, "no tokens file to reload (tokens from the environment, or none)")
            return
        try:
            new = read_tokens_file(path)
        except ValueError as error:
            log.error("tokens not reloaded, the old ones stay in force: %s", error)
            return
        tokens.take_over(new)
        log.log(
            level,
            "tokens reloaded from %s: %d tokens (%s)",
            path,
            len(new),
            write_keys_line(new, self._settings.defaults.app_id),
        )

    def _reload_tls(self, level: int) -> None:
        if self._tls is None:
            return
        files = self._tls.files
        try:
            self._tls.reload()
            if self._http_tls is not None:
                self._http_tls.load_cert_chain(files.cert, files.key)
        except (ValueError, OSError) as error:
            log.error("TLS certificate not reloaded, the old one stays in force: %s", error)
            return
        log.log(level, "TLS certificate reloaded from %s and %s", files.cert, files.key)
