"""The paths of Heap's user deletion API, and the rules of a user_deletion body: a list of
1..10,000 users, each with exactly one of an identity or a Heap user_id."""

from __future__ import annotations

from heap_destination.sim.validation import MAX_IDENTITY_LENGTH, MAX_USER_ID, check_length

AUTH_TOKEN_PATH = "/api/public/v0/auth_token"
USER_DELETION_PATH = "/api/public/v0/user_deletion"
DELETION_STATUS_PATH = "/api/public/v0/deletion_status"
"""Followed by /ID; faults name it without the id."""
DELETION_PATHS = frozenset({AUTH_TOKEN_PATH, USER_DELETION_PATH, DELETION_STATUS_PATH})
MAX_DELETION_USERS = 10_000


def check_deletion_body(body: object) -> list[str]:
    """Every rule `body` breaks; empty means valid."""
    if not isinstance(body, dict):
        return ["body: must be a JSON object"]
    errors = [f"{name}: unknown field" for name in body if name != "users"]
    users = body.get("users")
    if users is None:
        return [*errors, "users: required"]
    if not isinstance(users, list):
        return [*errors, "users: must be a list"]
    if not users:
        return [*errors, "users: must not be empty"]
    if len(users) > MAX_DELETION_USERS:
        return [*errors, f"users: at most {MAX_DELETION_USERS} per request"]
    for index, user in enumerate(users):
        errors.extend(_check_user(f"users[{index}]", user))
    return errors


def _check_user(path: str, user: object) -> list[str]:
    if not isinstance(user, dict):
        return [f"{path}: must be an object"]
    errors = [f"{path}.{name}: unknown field" for name in user if name not in _USER_FIELDS]
    has_identity, has_user_id = "identity" in user, "user_id" in user
    if has_identity == has_user_id:
        return [*errors, f"{path}: give exactly one of identity or user_id"]
    if has_identity:
        return errors + check_length(1, MAX_IDENTITY_LENGTH)(f"{path}.identity", user["identity"])
    return errors + _check_user_id(f"{path}.user_id", user["user_id"])


def _check_user_id(path: str, value: object) -> list[str]:
    """Heap documents no type for it: a decimal string or a JSON integer is taken."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value) if len(value) <= len(str(MAX_USER_ID)) else MAX_USER_ID + 1
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        return [f"{path}: must be a number or a numeric string"]
    if not 0 <= number <= MAX_USER_ID:
        return [f"{path}: must be in 0..{MAX_USER_ID}"]
    return []


_USER_FIELDS = frozenset({"identity", "user_id"})
