"""Heap's user deletion API: auth_token (HTTP Basic auth with the app_id and the API key),
user_deletion and deletion_status (with the bearer token auth_token issued).

Every request is recorded as an attempt; the tokens issued (as {"app_id": ...}, never the
key) and the deletion requests taken are recorded as accepted."""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Mapping
from urllib.parse import unquote

from heap_destination.sim.deletion_state import DeletionState
from heap_destination.sim.deletion_validation import (
    AUTH_TOKEN_PATH,
    DELETION_STATUS_PATH,
    USER_DELETION_PATH,
    check_deletion_body,
)
from heap_destination.sim.replies import Reply, json_reply, parse_json
from heap_destination.sim.state import SimulatorState

NO_API_KEY = "the simulator has no API key: start it with --api-key-file or HEAP_SIMULATOR_API_KEY"


def deletion_route(path: str) -> str | None:
    """The endpoint a path belongs to (deletion_status/ID belongs to deletion_status)."""
    if path in (AUTH_TOKEN_PATH, USER_DELETION_PATH):
        return path
    if path.startswith(DELETION_STATUS_PATH + "/") and len(path) > len(DELETION_STATUS_PATH) + 1:
        return DELETION_STATUS_PATH
    return None


async def answer_deletion_request(
    state: SimulatorState, route: str, path: str, authorization: str, raw_body: bytes
) -> Reply | None:
    """The answer to a request for a deletion `route` (its method checked already), or
    None when the connection must be dropped. Faults apply as to Heap's other endpoints."""
    body = _parsed(raw_body)
    fault = state.faults.next_fault(route, raw_body)
    if fault is not None and fault.latency_ms > 0:
        await asyncio.sleep(fault.latency_ms / 1000)
    if fault is not None and fault.drop_connection:
        state.recorder.record_attempt(route, body, None)
        return None
    if fault is not None and fault.status is not None:
        reply = _injected(fault.status, fault.retry_after)
    elif route == AUTH_TOKEN_PATH:
        reply = _auth_token(state, authorization)
    else:
        reply = _with_token(state, route, path, authorization, raw_body)
    state.recorder.record_attempt(route, body, reply.status)
    return reply


def _auth_token(state: SimulatorState, authorization: str) -> Reply:
    deletion = state.deletion
    if not deletion.has_api_key:
        return _err(401, NO_API_KEY)
    credentials = _basic_credentials(authorization)
    if credentials is None:
        return _err(401, "HTTP Basic auth with the app_id and the API key is required")
    app_id, api_key = credentials
    if not app_id.isdigit() or not deletion.is_api_key(api_key):
        return _err(401, "Unauthorized")
    state.recorder.record_accepted(AUTH_TOKEN_PATH, {"app_id": app_id})
    return json_reply({"access_token": deletion.issue_token(app_id)})


def _with_token(
    state: SimulatorState, route: str, path: str, authorization: str, raw_body: bytes
) -> Reply:
    scheme, _, token = authorization.partition(" ")
    app_id = state.deletion.app_of(token.strip()) if scheme.lower() == "bearer" else None
    if app_id is None:
        return _err(401, "a valid auth_token is required as the bearer token (they expire)")
    if route == USER_DELETION_PATH:
        return _user_deletion(state, app_id, raw_body)
    request_id = unquote(path[len(DELETION_STATUS_PATH) + 1 :])
    return _deletion_status(state.deletion, app_id, request_id)


def _user_deletion(state: SimulatorState, app_id: str, raw_body: bytes) -> Reply:
    try:
        body = parse_json(raw_body)
    except ValueError as error:
        return _err(400, str(error))
    errors = check_deletion_body(body)
    if errors or not isinstance(body, dict):
        return _err(400, "; ".join(errors))
    state.recorder.record_accepted(USER_DELETION_PATH, body)
    request_id = state.deletion.take_request(app_id)
    return json_reply({"deletion_request_id": request_id, "status": "pending"})


def _deletion_status(deletion: DeletionState, app_id: str, request_id: str) -> Reply:
    status = deletion.status(app_id, request_id)
    if status is None:
        return _err(404, "no such deletion request for this app")
    return json_reply({"deletion_request_id": request_id, "status": status})


def _basic_credentials(authorization: str) -> tuple[str, str] | None:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    app_id, colon, api_key = decoded.partition(":")
    return (app_id, api_key) if colon else None


def _parsed(raw_body: bytes) -> object:
    try:
        return parse_json(raw_body) if raw_body else None
    except ValueError:
        return None


def _injected(status: int, retry_after: str | None) -> Reply:
    headers: Mapping[str, str] = {} if retry_after is None else {"Retry-After": retry_after}
    return Reply(status, {"err": "injected fault"}, headers)


def _err(status: int, message: str) -> Reply:
    return Reply(status, {"err": message})
