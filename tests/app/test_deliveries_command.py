"""`heap-destination deliveries` against a real DeliveryAdminService on a SQLite store."""

import argparse
import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from heap_destination.app.commands.deliveries import add_deliveries_command
from heap_destination.app.options import SettingsError
from heap_destination.store import Store, open_store
from tests.api.admin_support import (
    ADMIN_TOKEN,
    APP,
    BILLING_TOKEN,
    OTHER_APP,
    SECRET,
    TOKENS,
    admin_server,
    dead_letters,
    new_item,
)

Run = Callable[..., Awaitable[int]]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(f"sqlite:{tmp_path / 'items.db'}")
    yield opened
    await opened.close()


@pytest.fixture
async def run(store: Store) -> AsyncIterator[Run]:
    """Runs `deliveries ARGS...` against a server on `store`, with `env`; returns the exit
    status. The command's blocking gRPC calls run on a thread, beside the server."""
    async with admin_server(store, TOKENS) as target:

        async def deliveries(*argv: str, token: str = "", target: str = target) -> int:
            parser = argparse.ArgumentParser()
            add_deliveries_command(parser.add_subparsers())
            args = parser.parse_args(["deliveries", *argv])
            env = {"HEAP_DESTINATION_TARGET": target, "HEAP_DESTINATION_TOKEN": token}
            return int(await asyncio.to_thread(args.command, args, env))

        yield deliveries


async def test_status_prints_a_line_per_stored_event_and_no_property_values(
    store: Store, run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    track, _ = await store.append(
        [
            new_item(message_id="m1", stream_event_id="e1"),
            new_item(message_id="m1", stream_event_id="e1", endpoint="user_properties"),
        ]
    )
    await store.mark_dead([track], "Heap answered 400", 400, "bad")

    assert await run("status", "--message-id", "m1", token=ADMIN_TOKEN) == 0
    lines = capsys.readouterr().out.splitlines()
    assert await run("status", "--stream-event-id", "e1", "--json", token=ADMIN_TOKEN) == 0
    answer = json.loads(capsys.readouterr().out)

    assert len(lines) == 2
    assert lines[0].startswith(f"#{track} dead app={APP} track ")
    assert 'error="Heap answered 400"' in lines[0] and "heap_status=400" in lines[0]
    assert " stored " in lines[1] and "user_properties" in lines[1]
    assert [event["status"] for event in answer["events"]] == [
        "DELIVERY_STATUS_DEAD",
        "DELIVERY_STATUS_STORED",
    ]
    assert SECRET not in "\n".join(lines) + json.dumps(answer)


async def test_status_pages_through_every_event_of_a_shared_id(
    store: Store, run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = await store.append([new_item(f"user-{n}", message_id="0") for n in range(2345)])
    await store.append([new_item(message_id="1")])

    assert await run("status", "--message-id", "0", token=ADMIN_TOKEN) == 0
    lines = capsys.readouterr().out.splitlines()
    assert await run("status", "--message-id", "0", "--json", token=ADMIN_TOKEN) == 0
    answer = json.loads(capsys.readouterr().out)

    assert [line.split()[0] for line in lines] == [f"#{item_id}" for item_id in ids]
    assert [event["id"] for event in answer["events"]] == ids
    assert answer["next_page_token"] == ""


async def test_status_stops_at_the_limit_and_continues_from_the_page_token(
    store: Store, run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = await store.append([new_item(f"user-{n}", message_id="0") for n in range(5)])

    assert await run("status", "--message-id", "0", "--limit", "3", token=ADMIN_TOKEN) == 0
    *first, more = capsys.readouterr().out.splitlines()
    token = more.removeprefix("more: --page-token ")
    assert await run("status", "--message-id", "0", "--page-token", token, token=ADMIN_TOKEN) == 0
    rest = capsys.readouterr().out.splitlines()

    assert [line.split()[0] for line in first] == [f"#{item_id}" for item_id in ids[:3]]
    assert [line.split()[0] for line in rest] == [f"#{item_id}" for item_id in ids[3:]]
    with pytest.raises(SettingsError, match="--limit"):
        await run("status", "--message-id", "0", "--limit", "-1", token=ADMIN_TOKEN)


async def test_status_needs_an_id(run: Run) -> None:
    with pytest.raises(SettingsError):
        await run("status", token=ADMIN_TOKEN)


async def test_dead_letters_page_by_page(
    store: Store, run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = await dead_letters(store, ["Heap answered 400", "retries ran out", "heap answered 413"])

    assert await run("dead-letters", "--limit", "1", "--reason", "HEAP", token=ADMIN_TOKEN) == 0
    first, more = capsys.readouterr().out.splitlines()
    token = more.removeprefix("more: --page-token ")
    assert (
        await run("dead-letters", "--reason", "heap", "--page-token", token, token=ADMIN_TOKEN) == 0
    )
    rest = capsys.readouterr().out.splitlines()

    assert first.startswith(f"#{ids[0]} dead ")
    assert [line.split()[0] for line in rest] == [f"#{ids[2]}"]


async def test_replay_and_purge_print_counts(
    store: Store, run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    await dead_letters(store, ["a", "b"])
    await dead_letters(store, ["a"], app_id=OTHER_APP)

    assert await run("replay", "--app-id", APP, token=ADMIN_TOKEN) == 0
    assert await run("purge", "--yes", "--json", token=ADMIN_TOKEN) == 0
    replayed, *purged = capsys.readouterr().out.splitlines()

    assert replayed == "replayed 2 dead letters"
    assert json.loads("\n".join(purged)) == {"purged": 1}


async def test_one_dead_letter_is_listed_replayed_and_purged_by_message_id_or_id(
    store: Store, run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = await dead_letters(store, ["a", "b", "c"])
    [other] = await dead_letters(store, ["a"], app_id=OTHER_APP)

    assert await run("dead-letters", "--message-id", "dead-0", token=ADMIN_TOKEN) == 0
    listed = capsys.readouterr().out.splitlines()
    assert await run("replay", "--id", str(ids[1]), token=ADMIN_TOKEN) == 0
    assert (
        await run("purge", "--app-id", OTHER_APP, "--message-id", "dead-0", token=ADMIN_TOKEN) == 0
    )
    assert await run("purge", "--id", str(ids[2]), token=ADMIN_TOKEN) == 0
    assert await run("status", "--message-id", "dead-1", token=ADMIN_TOKEN) == 0
    replayed, purged, purged_by_id, status = capsys.readouterr().out.splitlines()

    assert [line.split()[0] for line in listed] == [f"#{ids[0]}", f"#{other}"]
    assert (replayed, purged, purged_by_id) == (
        "replayed 1 dead letters",
        "purged 1 dead letters",
        "purged 1 dead letters",
    )
    assert status.startswith(f"#{ids[1]} stored ") and " replayed=" in status
    assert [item.id for item in await store.dead_letters(None, None, 10, None)] == [ids[0]]


async def test_a_limited_token_cannot_replay_another_apps_dead_letter_by_id(
    store: Store, run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    [theirs] = await dead_letters(store, ["a"], app_id=OTHER_APP)

    assert await run("replay", "--id", str(theirs), token=BILLING_TOKEN) == 1
    unnamed = capsys.readouterr().err
    assert await run("replay", "--app-id", APP, "--id", str(theirs), token=BILLING_TOKEN) == 0
    mine = capsys.readouterr().out

    assert "INVALID_ARGUMENT" in unnamed and "filter.app_id" in unnamed
    assert mine == "replayed 0 dead letters\n"
    assert [item.status for item in await store.status(item_id=theirs)] == ["dead"]


async def test_purging_every_dead_letter_needs_yes(store: Store, run: Run) -> None:
    ids = await dead_letters(store, ["a"])

    with pytest.raises(SettingsError, match="--yes"):
        await run("purge", token=ADMIN_TOKEN)

    assert [item.status for item in await store.status(item_id=ids[0])] == ["dead"]


async def test_backlog_and_resume(
    store: Store, run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    await store.append([new_item(), new_item("user-2")])
    await store.pause_app(APP, "Heap answered 401")

    assert await run("backlog", token=ADMIN_TOKEN) == 0
    assert await run("resume", APP, token=ADMIN_TOKEN) == 0
    assert await run("resume", "--all", token=ADMIN_TOKEN) == 0
    backlog, resumed, none_paused = capsys.readouterr().out.splitlines()

    assert backlog.startswith(f"app={APP} undelivered=2 oldest=")
    assert backlog.endswith('delivered_last_minute=0 paused reason="Heap answered 401"')
    assert resumed == f"resumed {APP}"
    assert none_paused == "no app was paused"


@pytest.mark.parametrize("argv", [["resume"], ["resume", APP, "--all"]])
async def test_resume_needs_an_app_id_or_all(run: Run, argv: list[str]) -> None:
    with pytest.raises(SettingsError):
        await run(*argv, token=ADMIN_TOKEN)


async def test_errors_print_the_code_and_exit_1(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run("dead-letters", token=BILLING_TOKEN) == 1
    limited = capsys.readouterr().err
    assert await run("backlog") == 1
    anonymous = capsys.readouterr().err
    assert await run("backlog", "--timeout", "2", target=f"127.0.0.1:{_free_port()}") == 1
    unreachable = capsys.readouterr().err

    assert limited.startswith("heap-destination: INVALID_ARGUMENT: ")
    assert "filter.app_id" in limited
    assert anonymous.startswith("heap-destination: UNAUTHENTICATED: ")
    assert unreachable.startswith("heap-destination: UNAVAILABLE: ")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
