"""DeliveryAdminService through a real server, channel and store (SQLite and PostgreSQL)."""

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from heap_destination.api.admin.mapping import page_token
from heap_destination.store import NewItem, Store, open_store
from heap_destination.v1 import admin_pb2, admin_pb2_grpc
from tests.api.admin_support import (
    ADMIN_TOKEN,
    APP,
    BASE_URL,
    BILLING_TOKEN,
    ENGINES,
    OTHER_APP,
    SECRET,
    TOKENS,
    admin_server,
    dead_letters,
    drop_items,
    new_item,
    store_url,
)

Connect = Callable[..., Awaitable["Stub"]]


@pytest.fixture(params=ENGINES)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with store_url(request.param, tmp_path) as fresh:
        yield fresh


@pytest.fixture
async def store(url: str) -> AsyncIterator[Store]:
    opened = await open_store(url)
    yield opened
    await opened.close()


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """Starts a server on a store (tokens optional); its stub sends `token`, if any."""
    async with AsyncExitStack() as stack:

        async def start(store: Store | None, tokens: Any = None, token: str = "") -> Stub:
            target = await stack.enter_async_context(admin_server(store, tokens))
            channel = await stack.enter_async_context(grpc.aio.insecure_channel(target))
            metadata = (("authorization", f"Bearer {token}"),) if token else ()
            return Stub(admin_pb2_grpc.DeliveryAdminServiceStub(channel), metadata)

        yield start


class Stub:
    """The async stub, sending a token and a timeout with every call."""

    def __init__(self, stub: Any, metadata: tuple[tuple[str, str], ...]) -> None:
        self._stub = stub
        self._metadata = metadata

    def __getattr__(self, name: str) -> Callable[[Any], Awaitable[Any]]:
        method = getattr(self._stub, name)

        async def call(request: Any) -> Any:
            return await method(request, metadata=self._metadata, timeout=10)

        return call


async def failure(call: Awaitable[Any]) -> tuple[grpc.StatusCode, str, str, dict[str, str]]:
    """The code, message, ErrorInfo reason and field violations of a failed call."""
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    error = raised.value
    reason, fields = "", {}
    status = rpc_status.from_call(error)
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields = {v.field: v.description for v in bad.field_violations}
    return error.code(), error.details() or "", reason, fields


async def test_status_by_message_id_maps_every_field_but_the_body(
    store: Store, connect: Connect
) -> None:
    accepted = time.time() - 5
    track, traits, _ = await store.append(
        [
            new_item(message_id="m1", stream_event_id="e1", accepted_at=accepted),
            new_item(message_id="m1", stream_event_id="e1", endpoint="user_properties"),
            new_item(message_id="m2"),
        ]
    )
    await store.mark_delivered([traits], 200)
    await store.mark_dead([track], "Heap rejected it", 400, '{"error": "bad event"}')
    stub = await connect(store)

    response = await stub.GetEventStatus(admin_pb2.GetEventStatusRequest(message_id="m1"))

    dead, delivered = response.events
    assert (dead.id, dead.app_id, dead.identity) == (track, APP, "user-1")
    assert (dead.message_id, dead.stream_event_id) == ("m1", "e1")
    assert dead.endpoint == admin_pb2.HEAP_ENDPOINT_TRACK
    assert dead.status == admin_pb2.DELIVERY_STATUS_DEAD
    assert (dead.last_error, dead.heap_status) == ("Heap rejected it", 400)
    assert dead.heap_body == '{"error": "bad event"}'
    assert abs(dead.accepted_at.ToNanoseconds() / 1e9 - accepted) < 0.001
    assert not dead.HasField("delivered_at")
    assert delivered.endpoint == admin_pb2.HEAP_ENDPOINT_USER_PROPERTIES
    assert delivered.status == admin_pb2.DELIVERY_STATUS_DELIVERED
    assert delivered.HasField("delivered_at") and delivered.heap_status == 200
    assert SECRET.encode() not in response.SerializeToString()


async def test_status_by_stream_event_id_and_by_both(store: Store, connect: Connect) -> None:
    first, second, _ = await store.append(
        [
            new_item(message_id="m1", stream_event_id="e1"),
            new_item(message_id="m2", stream_event_id="e1"),
            new_item(message_id="m1", stream_event_id="e2"),
        ]
    )
    stub = await connect(store)

    by_event = await stub.GetEventStatus(admin_pb2.GetEventStatusRequest(stream_event_id="e1"))
    by_both = await stub.GetEventStatus(
        admin_pb2.GetEventStatusRequest(message_id="m1", stream_event_id="e1")
    )
    unknown = await stub.GetEventStatus(admin_pb2.GetEventStatusRequest(message_id="nope"))

    assert [event.id for event in by_event.events] == [first, second]
    assert [event.status for event in by_event.events] == [admin_pb2.DELIVERY_STATUS_STORED] * 2
    assert [event.id for event in by_both.events] == [first]
    assert list(unknown.events) == []


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({}, "message_id"),
        ({"message_id": "m" * 1025}, "message_id"),
        ({"stream_event_id": "e" * 1025}, "stream_event_id"),
    ],
)
async def test_status_needs_a_short_id(
    store: Store, connect: Connect, request_fields: dict[str, str], field: str
) -> None:
    stub = await connect(store)

    code, _, reason, fields = await failure(
        stub.GetEventStatus(admin_pb2.GetEventStatusRequest(**request_fields))
    )

    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_EVENT")
    assert list(fields) == [field]


async def test_dead_letters_come_a_page_at_a_time(store: Store, connect: Connect) -> None:
    ids = await dead_letters(store, ["a", "b", "c", "d", "e"])
    await store.append([new_item("still-stored")])
    stub = await connect(store)

    pages: list[list[int]] = []
    token = ""
    while True:
        response = await stub.ListDeadLetters(
            admin_pb2.ListDeadLettersRequest(page_size=2, page_token=token)
        )
        pages.append([event.id for event in response.dead_letters])
        token = response.next_page_token
        if not token:
            break

    assert pages == [ids[0:2], ids[2:4], ids[4:5]]
    everything = await stub.ListDeadLetters(admin_pb2.ListDeadLettersRequest())
    assert [event.id for event in everything.dead_letters] == ids
    assert everything.next_page_token == ""


async def test_a_full_last_page_has_no_next_page_token(store: Store, connect: Connect) -> None:
    ids = await dead_letters(store, ["a", "b", "c", "d"])
    stub = await connect(store)

    first = await stub.ListDeadLetters(admin_pb2.ListDeadLettersRequest(page_size=2))
    second = await stub.ListDeadLetters(
        admin_pb2.ListDeadLettersRequest(page_size=2, page_token=first.next_page_token)
    )

    assert [event.id for event in second.dead_letters] == ids[2:]
    assert second.next_page_token == ""


async def test_dead_letters_by_app_and_reason_ignoring_case(store: Store, connect: Connect) -> None:
    ids = await dead_letters(store, ["Heap answered 400", "retries ran out", "HEAP ANSWERED 413"])
    other = await dead_letters(store, ["heap answered 400"], app_id=OTHER_APP)
    stub = await connect(store)

    by_reason = await stub.ListDeadLetters(
        admin_pb2.ListDeadLettersRequest(
            filter=admin_pb2.DeadLetterFilter(reason_contains="heap answered")
        )
    )
    by_app_and_reason = await stub.ListDeadLetters(
        admin_pb2.ListDeadLettersRequest(
            filter=admin_pb2.DeadLetterFilter(app_id=OTHER_APP, reason_contains="answered")
        )
    )

    assert [event.id for event in by_reason.dead_letters] == [ids[0], ids[2], *other]
    assert [event.id for event in by_app_and_reason.dead_letters] == other


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"page_token": "not a token"}, "page_token"),
        ({"page_token": "YWZ0ZXI6eA=="}, "page_token"),
        ({"page_token": page_token(1) + "x"}, "page_token"),
        ({"page_size": -1}, "page_size"),
        ({"page_size": 1001}, "page_size"),
    ],
)
async def test_a_bad_page_token_or_size_is_invalid(
    store: Store, connect: Connect, request_fields: dict[str, Any], field: str
) -> None:
    stub = await connect(store)

    code, _, _, fields = await failure(
        stub.ListDeadLetters(admin_pb2.ListDeadLettersRequest(**request_fields))
    )

    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert list(fields) == [field]


async def test_replay_queues_dead_letters_again(store: Store, connect: Connect) -> None:
    ids = await dead_letters(store, ["heap answered 400", "retries ran out"])
    other = await dead_letters(store, ["heap answered 400"], app_id=OTHER_APP)
    stub = await connect(store)

    response = await stub.ReplayDeadLetters(
        admin_pb2.ReplayDeadLettersRequest(
            filter=admin_pb2.DeadLetterFilter(app_id=APP, reason_contains="HEAP")
        )
    )

    assert response.replayed == 1
    status = await stub.GetEventStatus(admin_pb2.GetEventStatusRequest(message_id="dead-0"))
    statuses = {event.id: (event.status, event.attempts) for event in status.events}
    assert statuses[ids[0]] == (admin_pb2.DELIVERY_STATUS_STORED, 0)
    left = await stub.ListDeadLetters(admin_pb2.ListDeadLettersRequest())
    assert [event.id for event in left.dead_letters] == [ids[1], *other]


async def test_purge_deletes_dead_letters(store: Store, connect: Connect) -> None:
    await dead_letters(store, ["Heap answered 400", "retries ran out", "heap answered 413"])
    other = await dead_letters(store, ["Heap answered 400"], app_id=OTHER_APP)
    stub = await connect(store)

    by_reason = await stub.PurgeDeadLetters(
        admin_pb2.PurgeDeadLettersRequest(
            filter=admin_pb2.DeadLetterFilter(app_id=APP, reason_contains="heap ANSWERED")
        )
    )
    by_app = await stub.PurgeDeadLetters(
        admin_pb2.PurgeDeadLettersRequest(filter=admin_pb2.DeadLetterFilter(app_id=APP))
    )

    assert (by_reason.purged, by_app.purged) == (2, 1)
    left = await stub.ListDeadLetters(admin_pb2.ListDeadLettersRequest())
    assert [event.id for event in left.dead_letters] == other
    everything = await stub.PurgeDeadLetters(admin_pb2.PurgeDeadLettersRequest())
    assert everything.purged == 1
    assert (
        await stub.GetEventStatus(admin_pb2.GetEventStatusRequest(message_id="dead-0"))
    ).events == []


async def test_backlog_per_app(store: Store, connect: Connect) -> None:
    await store.append([new_item(accepted_at=time.time() - 30), new_item("user-2")])
    delivered = await store.append([new_item(app_id=OTHER_APP)])
    await store.mark_delivered(delivered, 200)
    stub = await connect(store)

    response = await stub.GetBacklog(admin_pb2.GetBacklogRequest())

    app, other = response.apps
    assert (app.app_id, app.undelivered, app.delivered_last_minute) == (APP, 2, 0)
    assert 29 <= app.oldest_age.ToTimedelta().total_seconds() < 60
    assert not app.paused and app.hold_reason == "" and not app.HasField("held_until")
    assert (other.app_id, other.undelivered, other.delivered_last_minute) == (OTHER_APP, 0, 1)
    assert other.oldest_age.ToTimedelta().total_seconds() == 0


async def test_backlog_shows_pauses_and_holds(store: Store, connect: Connect) -> None:
    await store.append([new_item(app_id=OTHER_APP)])
    await store.pause_app(APP, "Heap answered 401")
    held_until = time.time() + 60
    await store.hold_app(OTHER_APP, held_until, "Heap answered 429, Retry-After 60")
    stub = await connect(store)

    paused, held = (await stub.GetBacklog(admin_pb2.GetBacklogRequest())).apps

    assert (paused.app_id, paused.undelivered, paused.paused) == (APP, 0, True)
    assert paused.hold_reason == "Heap answered 401"
    assert (held.app_id, held.undelivered, held.paused) == (OTHER_APP, 1, False)
    assert held.hold_reason == "Heap answered 429, Retry-After 60"
    assert abs(held.held_until.ToNanoseconds() / 1e9 - held_until) < 0.001


async def test_resume_lifts_pauses(store: Store, connect: Connect) -> None:
    await store.pause_app(APP, "Heap answered 401")
    await store.pause_app(OTHER_APP, "Heap answered 404")
    limited = await connect(store, TOKENS, BILLING_TOKEN)
    admin = await connect(store, TOKENS, ADMIN_TOKEN)

    mine = await limited.ResumeApps(admin_pb2.ResumeAppsRequest(app_id=APP))
    again = await limited.ResumeApps(admin_pb2.ResumeAppsRequest(app_id=APP))
    every = await admin.ResumeApps(admin_pb2.ResumeAppsRequest(all_apps=True))

    assert list(mine.resumed_app_ids) == [APP]
    assert list(again.resumed_app_ids) == []
    assert list(every.resumed_app_ids) == [OTHER_APP]
    backlog = await admin.GetBacklog(admin_pb2.GetBacklogRequest())
    assert [app.app_id for app in backlog.apps if app.paused] == []


async def test_resume_needs_an_app_id_or_all_apps(store: Store, connect: Connect) -> None:
    stub = await connect(store)

    neither = await failure(stub.ResumeApps(admin_pb2.ResumeAppsRequest()))
    both = await failure(stub.ResumeApps(admin_pb2.ResumeAppsRequest(app_id=APP, all_apps=True)))
    nothing_paused = await stub.ResumeApps(admin_pb2.ResumeAppsRequest(all_apps=True))

    assert (neither[0], list(neither[3])) == (grpc.StatusCode.INVALID_ARGUMENT, ["app_id"])
    assert (both[0], list(both[3])) == (grpc.StatusCode.INVALID_ARGUMENT, ["app_id"])
    assert list(nothing_paused.resumed_app_ids) == []


async def test_a_limited_token_sees_and_changes_only_its_apps(
    store: Store, connect: Connect
) -> None:
    mine = await dead_letters(store, ["a"])
    await store.append([new_item(app_id=OTHER_APP, message_id="dead-0")])
    stub = await connect(store, TOKENS, BILLING_TOKEN)
    theirs = admin_pb2.DeadLetterFilter(app_id=OTHER_APP)
    unfiltered = admin_pb2.DeadLetterFilter()

    status = await stub.GetEventStatus(admin_pb2.GetEventStatusRequest(message_id="dead-0"))
    backlog = await stub.GetBacklog(admin_pb2.GetBacklogRequest())
    listed = await stub.ListDeadLetters(
        admin_pb2.ListDeadLettersRequest(filter=admin_pb2.DeadLetterFilter(app_id=APP))
    )
    denied = [
        await failure(stub.ListDeadLetters(admin_pb2.ListDeadLettersRequest(filter=theirs))),
        await failure(stub.ReplayDeadLetters(admin_pb2.ReplayDeadLettersRequest(filter=theirs))),
        await failure(stub.PurgeDeadLetters(admin_pb2.PurgeDeadLettersRequest(filter=theirs))),
        await failure(stub.ResumeApps(admin_pb2.ResumeAppsRequest(app_id=OTHER_APP))),
        await failure(stub.ResumeApps(admin_pb2.ResumeAppsRequest(all_apps=True))),
    ]
    unnamed = [
        await failure(stub.ListDeadLetters(admin_pb2.ListDeadLettersRequest(filter=unfiltered))),
        await failure(stub.ReplayDeadLetters(admin_pb2.ReplayDeadLettersRequest())),
        await failure(stub.PurgeDeadLetters(admin_pb2.PurgeDeadLettersRequest())),
    ]

    assert [event.id for event in status.events] == mine
    assert [app.app_id for app in backlog.apps] == []
    assert [event.id for event in listed.dead_letters] == mine
    for code, _, reason, _ in denied:
        assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "APP_ID_NOT_ALLOWED")
    for code, message, _, fields in unnamed:
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert list(fields) == ["filter.app_id"]
        assert "limited to some app_ids" in message


async def test_an_unlimited_token_sees_every_app(store: Store, connect: Connect) -> None:
    await store.append([new_item(message_id="m1"), new_item(app_id=OTHER_APP, message_id="m1")])
    admin = await connect(store, TOKENS, ADMIN_TOKEN)
    anonymous = await connect(store, TOKENS)

    status = await admin.GetEventStatus(admin_pb2.GetEventStatusRequest(message_id="m1"))
    backlog = await admin.GetBacklog(admin_pb2.GetBacklogRequest())
    refused = await failure(anonymous.GetBacklog(admin_pb2.GetBacklogRequest()))

    assert [event.app_id for event in status.events] == [APP, OTHER_APP]
    assert [app.app_id for app in backlog.apps] == [APP, OTHER_APP]
    assert refused[0] == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize(
    ("method", "request_message"),
    [
        ("GetEventStatus", admin_pb2.GetEventStatusRequest(message_id="m1")),
        ("ListDeadLetters", admin_pb2.ListDeadLettersRequest()),
        ("ReplayDeadLetters", admin_pb2.ReplayDeadLettersRequest()),
        ("PurgeDeadLetters", admin_pb2.PurgeDeadLettersRequest()),
        ("GetBacklog", admin_pb2.GetBacklogRequest()),
        ("ResumeApps", admin_pb2.ResumeAppsRequest(all_apps=True)),
    ],
)
async def test_without_a_store_every_call_is_a_failed_precondition(
    connect: Connect, method: str, request_message: Any
) -> None:
    stub = await connect(None)

    code, message, _, _ = await failure(getattr(stub, method)(request_message))

    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert "--store" in message


async def test_a_failing_store_is_unavailable(store: Store, url: str, connect: Connect) -> None:
    await store.append([new_item(message_id="m1")])
    drop_items(url)
    stub = await connect(store)

    code, message, reason, _ = await failure(
        stub.GetEventStatus(admin_pb2.GetEventStatusRequest(message_id="m1"))
    )

    assert (code, reason) == (grpc.StatusCode.UNAVAILABLE, "STORE_UNAVAILABLE")
    assert message == "the store cannot be reached"


async def test_status_comes_a_page_at_a_time_by_id(store: Store, connect: Connect) -> None:
    ids = await store.append([new_item(f"user-{n}", message_id="0") for n in range(5)])
    await store.append([new_item(message_id="1")])
    stub = await connect(store)

    pages: list[list[int]] = []
    token = ""
    while True:
        response = await stub.GetEventStatus(
            admin_pb2.GetEventStatusRequest(message_id="0", page_size=2, page_token=token)
        )
        pages.append([event.id for event in response.events])
        token = response.next_page_token
        if not token:
            break

    assert pages == [ids[0:2], ids[2:4], ids[4:5]]


async def test_status_pages_hold_100_by_default_and_1000_at_most(
    store: Store, connect: Connect
) -> None:
    ids = await store.append([new_item(f"user-{n}", message_id="0") for n in range(1001)])
    stub = await connect(store)

    default = await stub.GetEventStatus(admin_pb2.GetEventStatusRequest(message_id="0"))
    largest = await stub.GetEventStatus(
        admin_pb2.GetEventStatusRequest(message_id="0", page_size=1000)
    )
    last = await stub.GetEventStatus(
        admin_pb2.GetEventStatusRequest(
            message_id="0", page_size=1000, page_token=largest.next_page_token
        )
    )

    assert [event.id for event in default.events] == ids[:100]
    assert default.next_page_token == page_token(ids[99])
    assert [event.id for event in largest.events] == ids[:1000]
    assert ([event.id for event in last.events], last.next_page_token) == ([ids[1000]], "")


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"page_token": "not a token"}, "page_token"),
        ({"page_token": page_token(1) + "x"}, "page_token"),
        ({"page_size": -1}, "page_size"),
        ({"page_size": 1001}, "page_size"),
    ],
)
async def test_a_bad_status_page_token_or_size_is_invalid(
    store: Store, connect: Connect, request_fields: dict[str, Any], field: str
) -> None:
    stub = await connect(store)

    code, _, _, fields = await failure(
        stub.GetEventStatus(admin_pb2.GetEventStatusRequest(message_id="m1", **request_fields))
    )

    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert list(fields) == [field]


async def test_a_limited_tokens_status_pages_hold_only_its_apps(
    store: Store, connect: Connect
) -> None:
    ids = await store.append(
        [new_item(f"user-{n}", (APP, OTHER_APP)[n % 2], message_id="0") for n in range(8)]
    )
    stub = await connect(store, TOKENS, BILLING_TOKEN)

    first = await stub.GetEventStatus(admin_pb2.GetEventStatusRequest(message_id="0", page_size=3))
    rest = await stub.GetEventStatus(
        admin_pb2.GetEventStatusRequest(message_id="0", page_token=first.next_page_token)
    )
    theirs = await stub.GetEventStatus(admin_pb2.GetEventStatusRequest(message_id="1"))

    assert [event.id for event in first.events] == ids[0:6:2]
    assert ([event.id for event in rest.events], rest.next_page_token) == ([ids[6]], "")
    assert list(theirs.events) == []


async def test_a_message_id_shared_by_100_000_events_answers_a_bounded_first_page(
    store: Store, connect: Connect
) -> None:
    third_app = "3333333333"
    body = b'{"identity":"user-1","event":"Signed Up"}'
    accepted = time.time()
    items = [
        NewItem(
            (OTHER_APP, third_app)[n % 2], BASE_URL, "track", "u", body, None, "0", "", accepted
        )
        for n in range(100_000)
    ]
    ids = [*await store.append(items[:50_000]), *await store.append(items[50_000:])]
    admin = await connect(store, TOKENS, ADMIN_TOKEN)
    limited = await connect(store, TOKENS, BILLING_TOKEN)

    first = await admin.GetEventStatus(admin_pb2.GetEventStatusRequest(message_id="0"))
    none = await limited.GetEventStatus(
        admin_pb2.GetEventStatusRequest(message_id="0", page_size=1000)
    )

    assert [event.id for event in first.events] == ids[:100]
    assert first.next_page_token == page_token(ids[99])
    # What the store reads for it is counted in tests/store/test_status_pages.py.
    assert first.ByteSize() < 20_000
    assert (list(none.events), none.next_page_token) == ([], "")


async def test_dead_letters_are_listed_replayed_and_purged_by_message_id_or_id(
    store: Store, connect: Connect
) -> None:
    ids = await dead_letters(store, ["a", "b", "c"])
    [other] = await dead_letters(store, ["a"], app_id=OTHER_APP)
    stub = await connect(store)

    def by(**fields: Any) -> admin_pb2.DeadLetterFilter:
        return admin_pb2.DeadLetterFilter(**fields)

    listed = await stub.ListDeadLetters(admin_pb2.ListDeadLettersRequest(filter=by(id=ids[1])))
    by_message = await stub.ListDeadLetters(
        admin_pb2.ListDeadLettersRequest(filter=by(message_id="dead-0"))
    )
    replayed = await stub.ReplayDeadLetters(
        admin_pb2.ReplayDeadLettersRequest(filter=by(id=ids[1]))
    )
    purged = await stub.PurgeDeadLetters(
        admin_pb2.PurgeDeadLettersRequest(filter=by(app_id=APP, message_id="dead-0"))
    )

    assert [event.id for event in listed.dead_letters] == [ids[1]]
    assert [event.id for event in by_message.dead_letters] == [ids[0], other]
    assert (replayed.replayed, purged.purged) == (1, 1)
    left = await stub.ListDeadLetters(admin_pb2.ListDeadLettersRequest())
    assert [event.id for event in left.dead_letters] == [ids[2], other]
    [again] = (
        await stub.GetEventStatus(admin_pb2.GetEventStatusRequest(message_id="dead-1"))
    ).events
    assert (again.status, again.attempts) == (admin_pb2.DELIVERY_STATUS_STORED, 0)
    assert abs(again.replayed_at.ToNanoseconds() / 1e9 - time.time()) < 10
    assert not left.dead_letters[0].HasField("replayed_at")


async def test_a_limited_token_cannot_pick_another_apps_dead_letter_by_id(
    store: Store, connect: Connect
) -> None:
    [theirs] = await dead_letters(store, ["a"], app_id=OTHER_APP)
    stub = await connect(store, TOKENS, BILLING_TOKEN)
    mine_by_their_id = admin_pb2.DeadLetterFilter(app_id=APP, id=theirs)

    replayed = await stub.ReplayDeadLetters(
        admin_pb2.ReplayDeadLettersRequest(filter=mine_by_their_id)
    )
    purged = await stub.PurgeDeadLetters(admin_pb2.PurgeDeadLettersRequest(filter=mine_by_their_id))
    unnamed = await failure(
        stub.ReplayDeadLetters(
            admin_pb2.ReplayDeadLettersRequest(filter=admin_pb2.DeadLetterFilter(id=theirs))
        )
    )

    assert (replayed.replayed, purged.purged) == (0, 0)
    assert (unnamed[0], list(unnamed[3])) == (grpc.StatusCode.INVALID_ARGUMENT, ["filter.app_id"])
    assert [item.status for item in await store.status(item_id=theirs)] == ["dead"]


@pytest.mark.parametrize(
    ("filter_fields", "field"),
    [({"id": -1}, "filter.id"), ({"message_id": "m" * 1025}, "filter.message_id")],
)
async def test_a_bad_dead_letter_pick_is_invalid(
    store: Store, connect: Connect, filter_fields: dict[str, Any], field: str
) -> None:
    stub = await connect(store)
    chosen = admin_pb2.DeadLetterFilter(**filter_fields)

    failures = [
        await failure(stub.ListDeadLetters(admin_pb2.ListDeadLettersRequest(filter=chosen))),
        await failure(stub.ReplayDeadLetters(admin_pb2.ReplayDeadLettersRequest(filter=chosen))),
        await failure(stub.PurgeDeadLetters(admin_pb2.PurgeDeadLettersRequest(filter=chosen))),
    ]

    assert [(code, list(fields)) for code, _, _, fields in failures] == [
        (grpc.StatusCode.INVALID_ARGUMENT, [field])
    ] * 3
