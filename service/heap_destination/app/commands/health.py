"""`heap-destination health`: asks a running service whether it serves, for container
health checks and scripts; exit 0 when it does, 1 otherwise."""

import argparse
import sys
from collections.abc import Mapping
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from heap_destination.app.commands.remote_call import channel_for
from heap_destination.app.commands.send import TARGET_ENV


def add_health_command(commands: Any) -> None:
    health = commands.add_parser(
        "health",
        help="check that a running service serves (exit 0) or not (exit 1)",
        description="Calls the standard grpc.health.v1.Health/Check, which needs no token. "
        "NOT_SERVING while the service drains or its store cannot be reached.",
    )
    health.add_argument(
        "--target", help=f"service host:port (env {TARGET_ENV}; default 127.0.0.1:50051)"
    )
    health.add_argument(
        "--service",
        default="",
        help="the service name to check (default: the server as a whole)",
    )
    health.add_argument("--tls-ca", help="PEM CA to reach a TLS service")
    health.add_argument("--timeout", type=float, default=3.0, help="seconds to wait")
    health.set_defaults(command=_check)


def _check(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    request = health_pb2.HealthCheckRequest(service=args.service)
    try:
        with channel_for(args, env) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            answer = stub.Check(request, timeout=args.timeout)
    except grpc.RpcError as error:
        failed: grpc.Call = error
        print(f"heap-destination: {failed.code().name}: {failed.details()}", file=sys.stderr)
        return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
    print(status)
    return 0 if answer.status == health_pb2.HealthCheckResponse.SERVING else 1
