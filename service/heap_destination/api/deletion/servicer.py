"""The UserDeletionService servicer: checks the call, purges the identities' undelivered
stored events, then asks Heap to delete the users."""

import logging

import grpc

from heap_destination.api.caller import CURRENT_CALLER, PermissionDenied
from heap_destination.api.deletion.input import UsersToDelete, status_query, users_to_delete
from heap_destination.api.deletion.rights import DeletionNotAllowed, ensure_caller_may_delete_users
from heap_destination.api.error_status import abort
from heap_destination.delivery.deletion.client import HeapDeletionClient, heap_users
from heap_destination.delivery.deletion.errors import DeletionError, HeapApiKeyMissing
from heap_destination.delivery.errors import StoreOutOfService
from heap_destination.domain.violations import InvalidInput
from heap_destination.store import Store, StoreUnavailable
from heap_destination.v1 import deletion_pb2, deletion_pb2_grpc

log = logging.getLogger(__name__)

STORE_UNREACHABLE = "the store cannot be reached, so nothing was deleted; call again"


class UserDeletionServicer(deletion_pb2_grpc.UserDeletionServiceServicer):
    def __init__(self, heap: HeapDeletionClient | None, base_url: str, store: Store | None) -> None:
        """`heap` is None when the server has no Heap API key; `store` when it has no
        durable store."""
        self._heap = heap
        self._base_url = base_url
        self._store = store

    async def DeleteUsers(
        self, request: deletion_pb2.DeleteUsersRequest, context: grpc.aio.ServicerContext
    ) -> deletion_pb2.DeleteUsersResponse:
        try:
            users = users_to_delete(request)
            ensure_caller_may_delete_users(users.app_id)
            heap = self._configured_heap()
            purged = await self._purge(users)
            receipts = await heap.delete(
                self._base_url, users.app_id, heap_users(users.identities, users.heap_user_ids)
            )
        except (InvalidInput, PermissionDenied, DeletionError, DeletionNotAllowed) as error:
            await abort(context, error)
        except (StoreUnavailable, OSError) as error:
            log.warning("the store cannot be reached: %s", error)
            await abort(context, StoreOutOfService(STORE_UNREACHABLE))
        log.info(
            "users submitted to Heap for deletion",
            extra={
                "app_id": users.app_id,
                "identities": len(users.identities),
                "heap_user_ids": len(users.heap_user_ids),
                "deletion_request_ids": [r.deletion_request_id for r in receipts],
                "purged_stored_events": purged,
            },
        )
        return deletion_pb2.DeleteUsersResponse(
            app_id=users.app_id,
            deletion_requests=[
                deletion_pb2.DeletionRequest(
                    deletion_request_id=r.deletion_request_id, users=r.users, status=r.status
                )
                for r in receipts
            ],
            identities=len(users.identities),
            heap_user_ids=len(users.heap_user_ids),
            purged_stored_events=purged,
        )

    async def GetDeletionStatus(
        self, request: deletion_pb2.GetDeletionStatusRequest, context: grpc.aio.ServicerContext
    ) -> deletion_pb2.GetDeletionStatusResponse:
        try:
            query = status_query(request)
            ensure_caller_may_delete_users(query.app_id)
            status = await self._configured_heap().status(
                self._base_url, query.app_id, query.deletion_request_id
            )
        except (InvalidInput, PermissionDenied, DeletionError, DeletionNotAllowed) as error:
            await abort(context, error)
        return deletion_pb2.GetDeletionStatusResponse(
            app_id=query.app_id, deletion_request_id=query.deletion_request_id, status=status
        )

    def _configured_heap(self) -> HeapDeletionClient:
        if self._heap is None:
            raise HeapApiKeyMissing()
        return self._heap

    async def _purge(self, users: UsersToDelete) -> int:
        """Stored events of the identities that wait for delivery die instead, so none
        reaches Heap after the deletion."""
        if self._store is None or not users.identities:
            return 0
        caller = CURRENT_CALLER.get()
        by = f" by {caller.name}" if caller is not None else ""
        reason = f"purged: its user was deleted from Heap (DeleteUsers{by})"
        return await self._store.purge_identities(users.app_id, users.identities, reason)
