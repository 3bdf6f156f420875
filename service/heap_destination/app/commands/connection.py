"""How a command reaches a running service: the target, the channel (plain, TLS, or mTLS
with a client certificate) and the bearer token. It imports grpc alone, so that
`heap-destination health` stays light."""

from collections.abc import Mapping
from pathlib import Path

import grpc

TARGET_ENV = "HEAP_DESTINATION_TARGET"
TOKEN_ENV = "HEAP_DESTINATION_TOKEN"
DEFAULT_TARGET = "127.0.0.1:50051"


def target_of(flag: str | None, env: Mapping[str, str]) -> str:
    """`--target`, else the environment's, else the default."""
    return flag or env.get(TARGET_ENV, DEFAULT_TARGET)


def open_channel(
    target: str,
    tls_ca: str | None,
    tls_cert: str | None = None,
    tls_key: str | None = None,
) -> grpc.Channel:
    """A channel to `target`: TLS trusting `tls_ca` when given, presenting the client
    certificate `tls_cert` and key `tls_key` when the service requires mTLS."""
    if bool(tls_cert) != bool(tls_key):
        raise ValueError("a client certificate needs both --tls-cert and --tls-key")
    if not tls_ca and not tls_cert:
        return grpc.insecure_channel(target)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=Path(tls_ca).read_bytes() if tls_ca else None,
        private_key=Path(tls_key).read_bytes() if tls_key else None,
        certificate_chain=Path(tls_cert).read_bytes() if tls_cert else None,
    )
    return grpc.secure_channel(target, credentials)


def bearer_metadata(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),) if token else ()
