"""Server TLS credentials, with client certificates required when a client CA is given,
read again on SIGHUP (app/reload.py) for new connections."""

import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

import grpc


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path
    client_ca: Path | None = None


class ServerTls:
    """gRPC's credentials for `files`; `reload` reads them again, and gRPC asks for the
    new ones before each new connection's handshake."""

    def __init__(self, files: TlsFiles) -> None:
        self.files = files
        self._initial = _configuration(files)
        self._lock = threading.Lock()  # gRPC asks from its own threads
        self._pending: grpc.ServerCertificateConfiguration | None = None

    def credentials(self) -> grpc.ServerCredentials:
        return grpc.dynamic_ssl_server_credentials(
            self._initial, self._fetch, require_client_authentication=bool(self.files.client_ca)
        )

    def reload(self) -> None:
        """Reads and checks the files; raises ValueError naming the file and the reason,
        and then the connections keep the certificate in force."""
        check_files(self.files)
        try:
            configuration = _configuration(self.files)
        except OSError as error:
            raise ValueError(f"TLS files: {_reason(error)}") from None
        with self._lock:
            self._pending = configuration

    def _fetch(self) -> grpc.ServerCertificateConfiguration | None:
        with self._lock:
            pending, self._pending = self._pending, None
        return pending


def check_files(files: TlsFiles) -> None:
    """Raises ValueError unless the certificate and key are a readable, matching pair
    and the client CA (if any) is a readable certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(files.cert, files.key)
    except (OSError, ssl.SSLError) as error:
        raise ValueError(
            f"TLS certificate {files.cert} and key {files.key}: {_reason(error)}"
        ) from None
    if files.client_ca is not None:
        try:
            context.load_verify_locations(files.client_ca)
        except (OSError, ssl.SSLError) as error:
            raise ValueError(f"TLS client CA {files.client_ca}: {_reason(error)}") from None


def _configuration(files: TlsFiles) -> grpc.ServerCertificateConfiguration:
    return grpc.ssl_server_certificate_configuration(
        [(files.key.read_bytes(), files.cert.read_bytes())],
        root_certificates=files.client_ca.read_bytes() if files.client_ca else None,
    )


def _reason(error: OSError | ssl.SSLError) -> str:
    if isinstance(error, ssl.SSLError):
        return error.reason or str(error)
    return error.strerror or str(error)
