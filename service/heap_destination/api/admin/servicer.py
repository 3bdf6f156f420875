"""The DeliveryAdminService servicer: the durable store, seen and changed within the
caller's token."""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import grpc

from heap_destination.api.admin.mapping import after_id, app_backlog, page_token, stored_event
from heap_destination.api.caller import (
    CURRENT_CALLER,
    AllAppsDenied,
    PermissionDenied,
    ensure_caller_may_use,
)
from heap_destination.api.error_status import abort
from heap_destination.delivery.errors import StoreOutOfService
from heap_destination.domain.limits import MAX_MESSAGE_ID_LENGTH
from heap_destination.domain.violations import FieldViolation, InvalidInput, raise_if_any
from heap_destination.store import Store, StoredItem, StoreUnavailable
from heap_destination.v1 import admin_pb2, admin_pb2_grpc

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
NO_STORE = "this server has no durable store (--store)"


class DeliveryAdminServicer(admin_pb2_grpc.DeliveryAdminServiceServicer):
    def __init__(self, store: Store | None) -> None:
        self._store = store

    async def GetEventStatus(
        self, request: admin_pb2.GetEventStatusRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.GetEventStatusResponse:
        return await self._answer(context, lambda store: _event_status(store, request))

    async def ListDeadLetters(
        self, request: admin_pb2.ListDeadLettersRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.ListDeadLettersResponse:
        return await self._answer(context, lambda store: _dead_letters(store, request))

    async def ReplayDeadLetters(
        self, request: admin_pb2.ReplayDeadLettersRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.ReplayDeadLettersResponse:
        async def replay(store: Store) -> admin_pb2.ReplayDeadLettersResponse:
            chosen = _filter(request.filter)
            replayed = await store.replay_dead(
                chosen.app_id,
                chosen.reason_contains,
                message_id=chosen.message_id,
                item_id=chosen.item_id,
            )
            return admin_pb2.ReplayDeadLettersResponse(replayed=replayed)

        return await self._answer(context, replay)

    async def PurgeDeadLetters(
        self, request: admin_pb2.PurgeDeadLettersRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.PurgeDeadLettersResponse:
        async def purge(store: Store) -> admin_pb2.PurgeDeadLettersResponse:
            chosen = _filter(request.filter)
            purged = await store.purge_dead(
                chosen.app_id,
                chosen.reason_contains,
                message_id=chosen.message_id,
                item_id=chosen.item_id,
            )
            return admin_pb2.PurgeDeadLettersResponse(purged=purged)

        return await self._answer(context, purge)

    async def GetBacklog(
        self, request: admin_pb2.GetBacklogRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.GetBacklogResponse:
        return await self._answer(context, _backlog)

    async def ResumeApps(
        self, request: admin_pb2.ResumeAppsRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.ResumeAppsResponse:
        return await self._answer(context, lambda store: _resume(store, request))

    async def _answer(
        self, context: grpc.aio.ServicerContext, work: Callable[[Store], Awaitable[T]]
    ) -> T:
        if self._store is None:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, NO_STORE)
            raise AssertionError("context.abort always raises")
        try:
            return await work(self._store)
        except (InvalidInput, PermissionDenied, AllAppsDenied) as error:
            await abort(context, error)
        except (StoreUnavailable, OSError) as error:
            log.warning("the store cannot be reached: %s", error)
            await abort(context, StoreOutOfService("the store cannot be reached"))


async def _event_status(
    store: Store, request: admin_pb2.GetEventStatusRequest
) -> admin_pb2.GetEventStatusResponse:
    violations = [
        FieldViolation(name, f"must be at most {MAX_MESSAGE_ID_LENGTH} characters")
        for name, value in (
            ("message_id", request.message_id),
            ("stream_event_id", request.stream_event_id),
        )
        if len(value) > MAX_MESSAGE_ID_LENGTH
    ]
    if not request.message_id and not request.stream_event_id:
        violations.append(FieldViolation("message_id", "set message_id or stream_event_id"))
    raise_if_any(violations)
    page_size = _page_size(request.page_size)
    after = after_id(request.page_token)
    caller = CURRENT_CALLER.get()
    items = await store.status(
        request.message_id or None,
        stream_event_id=request.stream_event_id or None,
        app_ids=None if caller is None else caller.app_ids,
        limit=page_size + 1,
        after_id=after,
    )
    page, next_page_token = _page(items, page_size)
    return admin_pb2.GetEventStatusResponse(
        events=[stored_event(item) for item in page], next_page_token=next_page_token
    )


async def _dead_letters(
    store: Store, request: admin_pb2.ListDeadLettersRequest
) -> admin_pb2.ListDeadLettersResponse:
    page_size = _page_size(request.page_size)
    after = after_id(request.page_token)
    chosen = _filter(request.filter)
    items = await store.dead_letters(
        chosen.app_id,
        chosen.reason_contains,
        page_size + 1,
        after,
        message_id=chosen.message_id,
        item_id=chosen.item_id,
    )
    page, next_page_token = _page(items, page_size)
    return admin_pb2.ListDeadLettersResponse(
        dead_letters=[stored_event(item) for item in page], next_page_token=next_page_token
    )


def _page_size(requested: int) -> int:
    page_size = requested or DEFAULT_PAGE_SIZE
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(
            [FieldViolation("page_size", f"must be from 1 to {MAX_PAGE_SIZE}, or 0 for 100")]
        )
    return page_size


def _page(items: list[StoredItem], page_size: int) -> tuple[list[StoredItem], str]:
    """The page of `items` (up to page_size + 1 asked for) and its next_page_token."""
    page = items[:page_size]
    return page, page_token(page[-1].id) if len(items) > page_size else ""


async def _backlog(store: Store) -> admin_pb2.GetBacklogResponse:
    backlogs = await store.backlog()
    reasons = {hold.app_id: hold.reason for hold in await store.holds()}
    caller = CURRENT_CALLER.get()
    return admin_pb2.GetBacklogResponse(
        apps=[
            app_backlog(backlog, reasons.get(backlog.app_id, ""))
            for backlog in sorted(backlogs, key=lambda backlog: backlog.app_id)
            if caller is None or caller.may_use(backlog.app_id)
        ]
    )


async def _resume(
    store: Store, request: admin_pb2.ResumeAppsRequest
) -> admin_pb2.ResumeAppsResponse:
    if request.all_apps and request.app_id:
        raise InvalidInput([FieldViolation("app_id", "must be empty when all_apps is set")])
    if not request.all_apps and not request.app_id:
        raise InvalidInput([FieldViolation("app_id", "required unless all_apps is set")])
    if request.app_id:
        _check_length("app_id", request.app_id)
        ensure_caller_may_use(request.app_id)
    else:
        caller = CURRENT_CALLER.get()
        if caller is not None and caller.app_ids is not None:
            raise AllAppsDenied()
    resumed = await store.resume_apps(request.app_id or None)
    return admin_pb2.ResumeAppsResponse(resumed_app_ids=sorted(resumed))


@dataclass(frozen=True)
class _DeadLetterFilter:
    """A DeadLetterFilter as the store takes it: None for any."""

    app_id: str | None
    reason_contains: str | None
    message_id: str | None
    item_id: int | None


def _filter(dead_letters: admin_pb2.DeadLetterFilter) -> _DeadLetterFilter:
    """The store's filter for a DeadLetterFilter the caller may use."""
    _check_length("filter.app_id", dead_letters.app_id)
    _check_length("filter.reason_contains", dead_letters.reason_contains)
    _check_length("filter.message_id", dead_letters.message_id)
    if dead_letters.id < 0:
        raise InvalidInput(
            [FieldViolation("filter.id", "must be a stored event's id (positive), or 0 for any")]
        )
    if dead_letters.app_id:
        ensure_caller_may_use(dead_letters.app_id)
    else:
        caller = CURRENT_CALLER.get()
        if caller is not None and caller.app_ids is not None:
            raise InvalidInput(
                [FieldViolation("filter.app_id", "required for a token limited to some app_ids")]
            )
    return _DeadLetterFilter(
        app_id=dead_letters.app_id or None,
        reason_contains=dead_letters.reason_contains or None,
        message_id=dead_letters.message_id or None,
        item_id=dead_letters.id or None,
    )


def _check_length(field: str, value: str) -> None:
    if len(value) > MAX_MESSAGE_ID_LENGTH:
        raise InvalidInput(
            [FieldViolation(field, f"must be at most {MAX_MESSAGE_ID_LENGTH} characters")]
        )
