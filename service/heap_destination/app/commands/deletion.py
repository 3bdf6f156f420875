"""`heap-destination delete-users` and `deletion-status`: user deletion through a running
service, which holds Heap's API key. The bearer token, if any, comes from
HEAP_DESTINATION_TOKEN; it needs "may_delete_users"."""

import argparse
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from google.protobuf.message import Message

from heap_destination.app.commands.connection import TARGET_ENV, TOKEN_ENV
from heap_destination.app.commands.remote_call import DEFAULT_TARGET, Metadata, remote_command
from heap_destination.app.options import SettingsError
from heap_destination.v1 import deletion_pb2, deletion_pb2_grpc

Stub = deletion_pb2_grpc.UserDeletionServiceStub


def add_deletion_commands(commands: Any) -> None:
    delete = _command(
        commands,
        "delete-users",
        "delete users from Heap (privacy requests), purging their undelivered stored events",
    )
    users = delete.add_mutually_exclusive_group()
    users.add_argument(
        "--identity", action="append", default=[], help="an identity to delete (repeatable)"
    )
    users.add_argument(
        "--identities-file", help="a file of identities to delete, one per line (- for stdin)"
    )
    delete.add_argument(
        "--heap-user-id", action="append", default=[], help="a Heap user id to delete (repeatable)"
    )
    delete.set_defaults(command=_command_for(_delete_users, _print_deletion))

    status = _command(commands, "deletion-status", "Heap's status of a deletion request")
    status.add_argument("deletion_request_id", metavar="REQUEST_ID", help="from delete-users")
    status.set_defaults(command=_command_for(_deletion_status, _print_status))


def _command(commands: Any, name: str, help_text: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=help_text,
        description=f"Calls a running service. The bearer token, if any, comes from {TOKEN_ENV}.",
    )
    parser.add_argument("--app-id", required=True, help="the account's Main Production app_id")
    parser.add_argument(
        "--target", help=f"service host:port (env {TARGET_ENV}; default {DEFAULT_TARGET})"
    )
    parser.add_argument("--tls-ca", help="PEM CA to reach a TLS service")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds for the call")
    parser.add_argument("--json", action="store_true", help="print the response as JSON")
    return parser


def _delete_users(stub: Stub, args: argparse.Namespace, metadata: Any) -> Message:
    identities = _identities_file(args.identities_file) if args.identities_file else args.identity
    if not identities and not args.heap_user_id:
        raise SettingsError("delete-users: give --identity, --identities-file or --heap-user-id")
    request = deletion_pb2.DeleteUsersRequest(
        app_id=args.app_id, identities=identities, heap_user_ids=args.heap_user_id
    )
    response: deletion_pb2.DeleteUsersResponse = stub.DeleteUsers(
        request, timeout=args.timeout, metadata=metadata
    )
    return response


def _deletion_status(stub: Stub, args: argparse.Namespace, metadata: Any) -> Message:
    request = deletion_pb2.GetDeletionStatusRequest(
        app_id=args.app_id, deletion_request_id=args.deletion_request_id
    )
    response: deletion_pb2.GetDeletionStatusResponse = stub.GetDeletionStatus(
        request, timeout=args.timeout, metadata=metadata
    )
    return response


def _identities_file(path: str) -> list[str]:
    """The file's non-blank lines."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except (OSError, UnicodeDecodeError) as error:
        problem = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise SettingsError(f"--identities-file {path}: {problem}") from None
    return [line for line in text.splitlines() if line.strip()]


def _print_deletion(response: deletion_pb2.DeleteUsersResponse) -> None:
    for request in response.deletion_requests:
        status = f" ({request.status})" if request.status else ""
        print(f"deletion request {request.deletion_request_id}: {request.users} users{status}")
    print(
        f"app={response.app_id} identities={response.identities} "
        f"heap_user_ids={response.heap_user_ids} "
        f"purged_stored_events={response.purged_stored_events}"
    )


def _print_status(response: deletion_pb2.GetDeletionStatusResponse) -> None:
    print(f"deletion request {response.deletion_request_id}: {response.status}")


def _command_for(
    call: Callable[[Stub, argparse.Namespace, Metadata], Message], show: Callable[[Any], None]
) -> Callable[[argparse.Namespace, Mapping[str, str]], int]:
    return remote_command(deletion_pb2_grpc.UserDeletionServiceStub, call, show)
