"""`heap-destination send`: calls a running service from the command line.

`send track`, `send identify` and `send account` print the typed response as JSON;
`send events FILE` streams a JSON-lines file of events (track, identify or account) and
reports progress as results come back.
"""

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message

from heap_destination.app.commands.connection import TARGET_ENV, TOKEN_ENV, target_of
from heap_destination.client import HeapDestinationClient, error_details, in_messages
from heap_destination.v1 import config_pb2, stream_pb2

PROGRESS_EVERY = 1.0


def add_send_command(commands: Any) -> None:
    send = commands.add_parser(
        "send",
        help="send events to a running service and print what Heap received",
        description=f"Calls a running service. The bearer token, if any, comes from {TOKEN_ENV}.",
    )
    kinds = send.add_subparsers(required=True, metavar="KIND")

    track = kinds.add_parser("track", help="send one track, page or screen call")
    _connection_arguments(track)
    track.add_argument("--event", default="", help="event name (track calls)")
    track.add_argument("--type", default="track", choices=["track", "page", "screen"])
    track.add_argument("--name", default="", help="page or screen name")
    track.add_argument("--user-id", default="")
    track.add_argument("--anonymous-id", default="")
    track.add_argument("--properties", type=_json_object, help="JSON object")
    track.add_argument("--traits", type=_json_object, help="JSON object")
    track.add_argument("--message-id", default="")
    track.add_argument("--session-id", default="")
    track.add_argument("--timestamp", type=datetime.fromisoformat, help="ISO 8601")
    track.set_defaults(command=_send_track)

    identify = kinds.add_parser("identify", help="send one identify call")
    _connection_arguments(identify)
    identify.add_argument("--user-id", default="")
    identify.add_argument("--anonymous-id", default="")
    identify.add_argument("--traits", type=_json_object, help="JSON object")
    identify.add_argument("--heap-user-id", default="", help="Heap's numeric device user id")
    identify.add_argument("--message-id", default="")
    identify.add_argument("--timestamp", type=datetime.fromisoformat, help="ISO 8601")
    identify.set_defaults(command=_send_identify)

    account = kinds.add_parser(
        "account",
        help="set one account's properties (Heap's add_account_properties)",
        description="Sets properties on one account in Heap. Heap uses them only when the "
        "app has an Account ID configured; nested values are flattened like a track's.",
    )
    _connection_arguments(account)
    account.add_argument(
        "--account-id", required=True, help="the account's id, as the Account ID property holds it"
    )
    account.add_argument(
        "--properties",
        type=_json_object,
        required=True,
        help="JSON object with at least one property",
    )
    account.add_argument("--message-id", default="")
    account.set_defaults(command=_send_account)

    events = kinds.add_parser(
        "events",
        help="stream a JSON-lines file of events, reporting progress",
        description="Each line is an Event in protobuf JSON form with one of track, identify "
        'or account, e.g. {"id": "1", "track": {"user_id": "u1", "event": "Signed Up", '
        '"properties": {}}} or {"id": "2", "account": {"account_id": "acme", "properties": '
        '{"plan": "pro"}}}; a line without an id gets its line number.',
    )
    _connection_arguments(events)
    events.add_argument("file", help="JSON-lines file, or - for standard input")
    events.add_argument("--per-message", type=int, default=500, help="events per stream message")
    events.set_defaults(command=_send_events)


def _connection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target", help=f"service host:port (env {TARGET_ENV}; default 127.0.0.1:50051)"
    )
    parser.add_argument("--app-id", default=None, help="Heap app_id (env HEAP_APP_ID)")
    parser.add_argument(
        "--ack-mode",
        choices=["delivered", "stored"],
        help="what OK means: Heap accepted it, or the service stored it (default: the server's)",
    )
    parser.add_argument("--tls-ca", help="PEM CA to reach a TLS service")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per call")


_ACK_MODES = {
    "delivered": config_pb2.ACK_MODE_DELIVERED,
    "stored": config_pb2.ACK_MODE_STORED,
}


def _client(args: argparse.Namespace, env: Mapping[str, str]) -> HeapDestinationClient:
    ack_mode = _ACK_MODES.get(args.ack_mode or "", config_pb2.ACK_MODE_UNSPECIFIED)
    config = config_pb2.DestinationConfig(ack_mode=ack_mode)
    return HeapDestinationClient(
        target_of(args.target, env),
        config=config,
        app_id=args.app_id or env.get("HEAP_APP_ID", ""),
        timeout=args.timeout,
        token=env.get(TOKEN_ENV, ""),
        tls_ca=Path(args.tls_ca).read_bytes() if args.tls_ca else None,
    )


def _send_track(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    common: dict[str, Any] = {
        "user_id": args.user_id,
        "anonymous_id": args.anonymous_id,
        "properties": args.properties,
        "timestamp": args.timestamp,
        "message_id": args.message_id,
    }
    with _client(args, env) as client:

        def call() -> Message:
            if args.type == "page":
                return client.page(args.name, **common)
            if args.type == "screen":
                return client.screen(args.name, **common)
            return client.track(
                args.event, traits=args.traits, session_id=args.session_id, **common
            )

        return _print_answer(call)


def _send_identify(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    with _client(args, env) as client:
        return _print_answer(
            lambda: client.identify(
                user_id=args.user_id,
                anonymous_id=args.anonymous_id,
                traits=args.traits,
                heap_user_id=args.heap_user_id,
                timestamp=args.timestamp,
                message_id=args.message_id,
            )
        )


def _send_account(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    with _client(args, env) as client:
        return _print_answer(
            lambda: client.update_account(
                account_id=args.account_id,
                properties=args.properties,
                message_id=args.message_id,
            )
        )


def _print_answer(call: Callable[[], Message]) -> int:
    try:
        response = call()
    except grpc.RpcError as error:
        details = error_details(error)
        print(
            json.dumps(
                {
                    "code": details.code.name,
                    "reason": details.reason,
                    "message": details.message,
                    "field_violations": details.field_violations,
                },
                indent=2,
            ),
            file=sys.stderr,
        )
        return 1
    print(json_format.MessageToJson(response, preserving_proto_field_name=True))
    return 0


def _send_events(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    source: TextIO = sys.stdin if args.file == "-" else open(args.file)  # noqa: SIM115
    progress = _Progress()
    try:
        with _client(args, env) as client:
            events = _events(source, progress)
            for result in client.stream(in_messages(events, args.per_message)):
                progress.result(result)
    except grpc.RpcError as error:
        details = error_details(error)
        print(f"stream ended: {details.code.name} {details.message}", file=sys.stderr)
        return 1
    finally:
        if source is not sys.stdin:
            source.close()
    progress.finish()
    return 0 if progress.failed == 0 and progress.unreadable == 0 else 1


def _events(source: TextIO, progress: "_Progress") -> Iterator[stream_pb2.Event]:
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            event = json_format.Parse(line, stream_pb2.Event())
        except json_format.ParseError as error:
            progress.unreadable_line(number, str(error))
            continue
        if not event.id:
            event.id = str(number)
        progress.sent += 1
        yield event


class _Progress:
    """Counts and reports on standard error, at most once a second, and a summary."""

    SHOWN_FAILURES = 10

    def __init__(self) -> None:
        self.sent = self.delivered = self.failed = self.unreadable = 0
        self._last_report = time.monotonic()

    def result(self, result: stream_pb2.EventResult) -> None:
        if result.code == 0:
            self.delivered += 1
        else:
            self.failed += 1
            if self.failed <= self.SHOWN_FAILURES:
                print(f"event {result.id}: {result.reason} {result.message}", file=sys.stderr)
        if time.monotonic() - self._last_report >= PROGRESS_EVERY:
            self._report()

    def unreadable_line(self, number: int, problem: str) -> None:
        self.unreadable += 1
        print(f"line {number}: not an event: {problem}", file=sys.stderr)

    def finish(self) -> None:
        self._report()
        summary = {
            "sent": self.sent,
            "delivered": self.delivered,
            "failed": self.failed,
            "unreadable_lines": self.unreadable,
        }
        print(json.dumps(summary))

    def _report(self) -> None:
        self._last_report = time.monotonic()
        print(
            f"sent {self.sent}, delivered {self.delivered}, failed {self.failed}",
            file=sys.stderr,
            flush=True,
        )


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not JSON: {error.msg}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value
