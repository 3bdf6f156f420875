"""`heap-destination deliveries`: looks into a running service's durable store.

Prints one line per event or app, or with --json the response as JSON (`status`: every
page's events in one response). The bearer token, if any, comes from
HEAP_DESTINATION_TOKEN.
"""

import argparse
import json
from collections.abc import Callable, Mapping
from datetime import UTC
from typing import Any

from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from heap_destination.app.commands.connection import TARGET_ENV, TOKEN_ENV
from heap_destination.app.commands.remote_call import DEFAULT_TARGET, Metadata, remote_command
from heap_destination.app.options import SettingsError
from heap_destination.v1 import admin_pb2, admin_pb2_grpc

Stub = admin_pb2_grpc.DeliveryAdminServiceStub

STATUS_PAGE_SIZE = 1000


def add_deliveries_command(commands: Any) -> None:
    deliveries = commands.add_parser(
        "deliveries",
        help="look into a running service's durable store: event status, dead letters, backlog",
        description=f"Calls a running service. The bearer token, if any, comes from {TOKEN_ENV}.",
    )
    actions = deliveries.add_subparsers(required=True, metavar="ACTION")

    status = _action(actions, "status", "the stored events of a message_id or stream event id")
    status.add_argument("--message-id", default="")
    status.add_argument("--stream-event-id", default="")
    status.add_argument(
        "--limit", type=int, default=0, help="stop after this many events (default: all)"
    )
    status.add_argument("--page-token", default="", help="the next page token a run printed")
    status.set_defaults(command=_command_for(_status, _print_events))

    dead = _action(actions, "dead-letters", "list dead letters, oldest first, a page at a time")
    _filter_arguments(dead)
    dead.add_argument("--limit", type=int, default=0, help="per page, 1 to 1000 (default 100)")
    dead.add_argument("--page-token", default="", help="the next page token a page printed")
    dead.set_defaults(command=_command_for(_dead_letters, _print_dead_letters))

    replay = _action(actions, "replay", "queue dead letters for delivery again")
    _filter_arguments(replay)
    replay.set_defaults(command=_command_for(_replay, _print_count("replayed")))

    purge = _action(actions, "purge", "delete dead letters")
    _filter_arguments(purge)
    purge.add_argument(
        "--yes", action="store_true", help="confirm purging every dead letter (no filter)"
    )
    purge.set_defaults(command=_command_for(_purge, _print_count("purged")))

    backlog = _action(actions, "backlog", "per app: undelivered events, speed, pauses")
    backlog.set_defaults(command=_command_for(_backlog, _print_backlog))

    resume = _action(actions, "resume", "resume apps paused after Heap answered 401/403/404")
    resume.add_argument("app_id", nargs="?", default="", help="the app to resume")
    resume.add_argument("--all", action="store_true", help="resume every paused app")
    resume.set_defaults(command=_command_for(_resume, _print_resumed))


def _action(actions: Any, name: str, help_text: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = actions.add_parser(name, help=help_text)
    parser.add_argument(
        "--target", help=f"service host:port (env {TARGET_ENV}; default {DEFAULT_TARGET})"
    )
    parser.add_argument("--tls-ca", help="PEM CA to reach a TLS service")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per call")
    parser.add_argument("--json", action="store_true", help="print the response as JSON")
    return parser


def _filter_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--app-id", default="", help="only this app's (default: every app's)")
    parser.add_argument("--reason", default="", help="only those whose reason contains this")
    parser.add_argument("--message-id", default="", help="only those of this message_id")
    parser.add_argument("--id", type=int, default=0, help="only the one with this id")


def _status(stub: Stub, args: argparse.Namespace, metadata: Any) -> Message:
    if not args.message_id and not args.stream_event_id:
        raise SettingsError("deliveries status: --message-id or --stream-event-id is required")
    if args.limit < 0:
        raise SettingsError("deliveries status: --limit must be 0 (all) or more")
    found = admin_pb2.GetEventStatusResponse(next_page_token=args.page_token)
    while True:
        wanted = STATUS_PAGE_SIZE
        if args.limit:
            wanted = min(wanted, args.limit - len(found.events))
        request = admin_pb2.GetEventStatusRequest(
            message_id=args.message_id,
            stream_event_id=args.stream_event_id,
            page_size=wanted,
            page_token=found.next_page_token,
        )
        page: admin_pb2.GetEventStatusResponse = stub.GetEventStatus(
            request, timeout=args.timeout, metadata=metadata
        )
        found.events.extend(page.events)
        found.next_page_token = page.next_page_token
        if not page.next_page_token or (args.limit and len(found.events) >= args.limit):
            return found


def _dead_letters(stub: Stub, args: argparse.Namespace, metadata: Any) -> Message:
    request = admin_pb2.ListDeadLettersRequest(
        filter=_filter(args), page_size=args.limit, page_token=args.page_token
    )
    response: admin_pb2.ListDeadLettersResponse = stub.ListDeadLetters(
        request, timeout=args.timeout, metadata=metadata
    )
    return response


def _replay(stub: Stub, args: argparse.Namespace, metadata: Any) -> Message:
    request = admin_pb2.ReplayDeadLettersRequest(filter=_filter(args))
    response: admin_pb2.ReplayDeadLettersResponse = stub.ReplayDeadLetters(
        request, timeout=args.timeout, metadata=metadata
    )
    return response


def _purge(stub: Stub, args: argparse.Namespace, metadata: Any) -> Message:
    if not (args.app_id or args.reason or args.message_id or args.id or args.yes):
        raise SettingsError(
            "deliveries purge: without --app-id, --reason, --message-id or --id this deletes "
            "every dead letter; add --yes to confirm"
        )
    request = admin_pb2.PurgeDeadLettersRequest(filter=_filter(args))
    response: admin_pb2.PurgeDeadLettersResponse = stub.PurgeDeadLetters(
        request, timeout=args.timeout, metadata=metadata
    )
    return response


def _backlog(stub: Stub, args: argparse.Namespace, metadata: Any) -> Message:
    request = admin_pb2.GetBacklogRequest()
    response: admin_pb2.GetBacklogResponse = stub.GetBacklog(
        request, timeout=args.timeout, metadata=metadata
    )
    return response


def _resume(stub: Stub, args: argparse.Namespace, metadata: Any) -> Message:
    if bool(args.app_id) == args.all:
        raise SettingsError("deliveries resume: give an APP_ID or --all (not both)")
    request = admin_pb2.ResumeAppsRequest(app_id=args.app_id, all_apps=args.all)
    response: admin_pb2.ResumeAppsResponse = stub.ResumeApps(
        request, timeout=args.timeout, metadata=metadata
    )
    return response


def _filter(args: argparse.Namespace) -> admin_pb2.DeadLetterFilter:
    return admin_pb2.DeadLetterFilter(
        app_id=args.app_id, reason_contains=args.reason, message_id=args.message_id, id=args.id
    )


def _print_events(response: admin_pb2.GetEventStatusResponse) -> None:
    if not response.events:
        print("no stored events found")
    for event in response.events:
        print(event_line(event))
    if response.next_page_token:
        print(f"more: --page-token {response.next_page_token}")


def _print_dead_letters(response: admin_pb2.ListDeadLettersResponse) -> None:
    if not response.dead_letters:
        print("no dead letters")
    for event in response.dead_letters:
        print(event_line(event))
    if response.next_page_token:
        print(f"more: --page-token {response.next_page_token}")


def _print_count(field: str) -> Callable[[Any], None]:
    def show(response: Any) -> None:
        print(f"{field} {getattr(response, field)} dead letters")

    return show


def _print_backlog(response: admin_pb2.GetBacklogResponse) -> None:
    if not response.apps:
        print("no backlog")
    for app in response.apps:
        print(backlog_line(app))


def _print_resumed(response: admin_pb2.ResumeAppsResponse) -> None:
    if not response.resumed_app_ids:
        print("no app was paused")
    for app_id in response.resumed_app_ids:
        print(f"resumed {app_id}")


def event_line(event: admin_pb2.StoredEvent) -> str:
    parts = [
        f"#{event.id}",
        admin_pb2.DeliveryStatus.Name(event.status).removeprefix("DELIVERY_STATUS_").lower(),
        f"app={event.app_id}",
        admin_pb2.HeapEndpoint.Name(event.endpoint).removeprefix("HEAP_ENDPOINT_").lower(),
        f"identity={json.dumps(event.identity)}",
        f"message_id={json.dumps(event.message_id)}",
    ]
    if event.stream_event_id:
        parts.append(f"stream_event_id={json.dumps(event.stream_event_id)}")
    parts += [f"accepted={_time(event.accepted_at)}", f"attempts={event.attempts}"]
    if event.HasField("delivered_at"):
        parts.append(f"delivered={_time(event.delivered_at)}")
    if event.HasField("replayed_at"):
        parts.append(f"replayed={_time(event.replayed_at)}")
    if event.heap_status:
        parts.append(f"heap_status={event.heap_status}")
    if event.last_error:
        parts.append(f"error={json.dumps(event.last_error)}")
    if event.heap_body:
        parts.append(f"heap_body={json.dumps(event.heap_body)}")
    return " ".join(parts)


def backlog_line(app: admin_pb2.AppBacklog) -> str:
    age = app.oldest_age.ToTimedelta().total_seconds()
    line = (
        f"app={app.app_id} undelivered={app.undelivered} oldest={age:.1f}s "
        f"delivered_last_minute={app.delivered_last_minute}"
    )
    if app.paused:
        line += " paused"
    if app.HasField("held_until"):
        line += f" held_until={_time(app.held_until)}"
    if app.hold_reason:
        line += f" reason={json.dumps(app.hold_reason)}"
    return line


def _time(timestamp: timestamp_pb2.Timestamp) -> str:
    return timestamp.ToDatetime(tzinfo=UTC).isoformat(timespec="milliseconds")


def _command_for(
    call: Callable[[Stub, argparse.Namespace, Metadata], Message], show: Callable[[Any], None]
) -> Callable[[argparse.Namespace, Mapping[str, str]], int]:
    return remote_command(admin_pb2_grpc.DeliveryAdminServiceStub, call, show)
