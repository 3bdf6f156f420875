"""`heap-destination health`: asks a running service whether it is alive or ready, for
container health checks, probes and scripts; exit 0 when it is, 1 otherwise.

It imports grpc and the health stub, not the server: the command line dispatches it
before importing anything else (app/cli.py), so a health check costs little CPU.
"""

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from heap_destination.app.commands.connection import (
    DEFAULT_TARGET,
    TARGET_ENV,
    TOKEN_ENV,
    bearer_metadata,
    open_channel,
    target_of,
)
from heap_destination.app.health_names import LIVENESS_SERVICE, READINESS_SERVICE
from heap_destination.app.options import SettingsError

CHECKS = {"readiness": READINESS_SERVICE, "liveness": LIVENESS_SERVICE}


def add_health_command(commands: Any) -> None:
    health = commands.add_parser(
        "health",
        help="check that a running service is ready or alive (exit 0) or not (exit 1)",
        description="Calls the standard grpc.health.v1.Health/Check. Readiness (the "
        "default) is SERVING while the service can take events now: NOT_SERVING while it "
        "starts, drains, misses a worker or cannot reach its store. Liveness is SERVING "
        "while the process serves at all.",
    )
    health.add_argument(
        "--check",
        choices=tuple(CHECKS),
        default="readiness",
        help="what to ask (default readiness)",
    )
    health.add_argument(
        "--service",
        help="ask for this service name instead (e.g. heap_destination.v1.HeapDestinationService)",
    )
    health.add_argument(
        "--target", help=f"service host:port (env {TARGET_ENV}; default {DEFAULT_TARGET})"
    )
    health.add_argument("--tls-ca", help="CA (PEM) to trust for a TLS service (none: plaintext)")
    health.add_argument(
        "--tls-cert", help="client certificate (PEM) for a service that requires mTLS"
    )
    health.add_argument("--tls-key", help="client private key (PEM) for --tls-cert")
    health.add_argument(
        "--token-file",
        help=f"file holding a bearer token to send (or the token itself in {TOKEN_ENV}; "
        "the service asks none for health, a proxy in front may)",
    )
    health.add_argument("--timeout", type=float, default=3.0, help="seconds to wait (default 3)")
    health.set_defaults(command=check)


def check(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    service = args.service if args.service is not None else CHECKS[args.check]
    metadata = bearer_metadata(_token(args.token_file, env))
    try:
        channel = open_channel(
            target_of(args.target, env), args.tls_ca, args.tls_cert, args.tls_key
        )
    except (OSError, ValueError) as error:
        problem = f"{error.filename}: {error.strerror}" if isinstance(error, OSError) else error
        raise SettingsError(f"cannot make the channel: {problem}") from None
    try:
        with channel:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service),
                timeout=args.timeout,
                metadata=metadata,
            )
    except grpc.RpcError as error:
        failed: grpc.Call = error
        print(f"heap-destination: {failed.code().name}: {failed.details()}", file=sys.stderr)
        return 1
    print(health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status))
    return 0 if answer.status == health_pb2.HealthCheckResponse.SERVING else 1


def _token(path: str | None, env: Mapping[str, str]) -> str:
    if not path:
        return env.get(TOKEN_ENV, "")
    try:
        token = Path(path).read_text().strip()
    except (OSError, UnicodeDecodeError) as error:
        problem = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise SettingsError(f"--token-file: cannot read the file ({problem})") from None
    if not token:
        raise SettingsError("--token-file: holds no token")
    return token
