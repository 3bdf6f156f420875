"""DeleteUsers and GetDeletionStatus requests, checked: what goes to Heap's user deletion
API, or InvalidInput naming every bad field."""

from dataclasses import dataclass

from heap_destination.domain.destination import checked_app_id
from heap_destination.domain.limits import (
    MAX_HEAP_USER_ID,
    MAX_IDENTITY_LENGTH,
    MAX_MESSAGE_ID_LENGTH,
)
from heap_destination.domain.text import (
    NO_CONTROL_CHARACTERS,
    has_control_characters,
    trim_invisible,
)
from heap_destination.domain.violations import FieldViolation, raise_if_any
from heap_destination.v1 import deletion_pb2

MAX_USERS_PER_CALL = 100_000
"""Ten of Heap's requests: bounds how long one call takes."""


@dataclass(frozen=True)
class UsersToDelete:
    app_id: str
    identities: tuple[str, ...]
    """Trimmed and distinct, in the request's order."""
    heap_user_ids: tuple[str, ...]
    """Canonical (no leading zeros) and distinct, in the request's order."""


@dataclass(frozen=True)
class StatusQuery:
    app_id: str
    deletion_request_id: str


def users_to_delete(request: deletion_pb2.DeleteUsersRequest) -> UsersToDelete:
    app_id, violations = _app_id(request.app_id)
    identities: dict[str, None] = {}
    for index, raw in enumerate(request.identities):
        identity = trim_invisible(raw)
        if problem := _identity_problem(identity):
            violations.append(FieldViolation(f"identities[{index}]", problem))
        else:
            identities[identity] = None
    heap_user_ids: dict[str, None] = {}
    for index, raw in enumerate(request.heap_user_ids):
        heap_user_id = _canonical_heap_user_id(raw.strip())
        if heap_user_id is None:
            violations.append(
                FieldViolation(
                    f"heap_user_ids[{index}]",
                    f"must be a decimal number from 0 to {MAX_HEAP_USER_ID}",
                )
            )
        else:
            heap_user_ids[heap_user_id] = None
    if not request.identities and not request.heap_user_ids:
        violations.append(
            FieldViolation("identities", "required: give at least one identity or heap_user_id")
        )
    users = len(identities) + len(heap_user_ids)
    if users > MAX_USERS_PER_CALL:
        violations.append(
            FieldViolation(
                "identities",
                f"at most {MAX_USERS_PER_CALL} users per call (this one has {users}): "
                "split them over several calls",
            )
        )
    raise_if_any(violations)
    return UsersToDelete(app_id, tuple(identities), tuple(heap_user_ids))


def status_query(request: deletion_pb2.GetDeletionStatusRequest) -> StatusQuery:
    app_id, violations = _app_id(request.app_id)
    request_id = request.deletion_request_id
    if not request_id:
        violations.append(FieldViolation("deletion_request_id", "required"))
    elif len(request_id) > MAX_MESSAGE_ID_LENGTH:
        violations.append(
            FieldViolation(
                "deletion_request_id", f"must be at most {MAX_MESSAGE_ID_LENGTH} characters"
            )
        )
    elif has_control_characters(request_id):
        violations.append(FieldViolation("deletion_request_id", NO_CONTROL_CHARACTERS))
    raise_if_any(violations)
    return StatusQuery(app_id, request_id)


def _app_id(value: str) -> tuple[str, list[FieldViolation]]:
    """The app_id, checked as a request config's is, but never taken from the server's
    default: a deletion names its app."""
    if not value.strip():
        return "", [
            FieldViolation("app_id", "required: the account's Main Production app (environment)")
        ]
    app_id, violations = checked_app_id(value)
    return app_id, [FieldViolation("app_id", v.description) for v in violations]


def _identity_problem(identity: str) -> str | None:
    if not identity:
        return "must not be empty (nor only whitespace or invisible characters)"
    if has_control_characters(identity):
        return NO_CONTROL_CHARACTERS
    if len(identity) > MAX_IDENTITY_LENGTH:
        return (
            f"must be at most {MAX_IDENTITY_LENGTH} characters to be a Heap identity "
            f"(this one has {len(identity)})"
        )
    return None


def _canonical_heap_user_id(text: str) -> str | None:
    """`text` without leading zeros when it is a Heap user id, else None."""
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(MAX_HEAP_USER_ID)) or int(digits) > MAX_HEAP_USER_ID:
        return None
    return digits
