"""Running one call against a running service from the command line: the channel (plain
or TLS), the bearer token from HEAP_DESTINATION_TOKEN, errors on standard error, and the
answer printed as lines or, with --json, as JSON."""

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message

from heap_destination.app.commands.connection import (
    DEFAULT_TARGET,
    TOKEN_ENV,
    bearer_metadata,
    open_channel,
    target_of,
)

__all__ = ["DEFAULT_TARGET", "Metadata", "as_dict", "channel_for", "remote_command"]

Stub = TypeVar("Stub")
Metadata = tuple[tuple[str, str], ...]


def remote_command(
    stub_for: Callable[[grpc.Channel], Stub],
    call: Callable[[Stub, argparse.Namespace, Metadata], Message],
    show: Callable[[Any], None],
) -> Callable[[argparse.Namespace, Mapping[str, str]], int]:
    """A command that makes `call` on the stub `stub_for` gives and shows its answer;
    exit 1 with the status on standard error when the service refuses."""

    def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
        metadata = bearer_metadata(env.get(TOKEN_ENV, ""))
        try:
            with channel_for(args, env) as channel:
                response = call(stub_for(channel), args, metadata)
        except grpc.RpcError as error:
            failed: grpc.Call = error
            print(f"heap-destination: {failed.code().name}: {failed.details()}", file=sys.stderr)
            return 1
        if args.json:
            print(json.dumps(as_dict(response), indent=2))
        else:
            show(response)
        return 0

    return run


def as_dict(response: Message) -> dict[str, Any]:
    return json_format.MessageToDict(
        response,
        always_print_fields_with_no_presence=True,
        preserving_proto_field_name=True,
        unquote_int64_if_possible=True,
    )


@contextmanager
def channel_for(args: argparse.Namespace, env: Mapping[str, str]) -> Iterator[grpc.Channel]:
    """A channel to `--target` (or the environment's, or the default), TLS with `--tls-ca`."""
    with open_channel(target_of(args.target, env), args.tls_ca) as channel:
        yield channel
