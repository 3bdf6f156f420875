"""DeleteUsers and GetDeletionStatus requests, checked before anything reaches Heap."""

import pytest

from heap_destination.api.deletion.input import (
    MAX_USERS_PER_CALL,
    UsersToDelete,
    status_query,
    users_to_delete,
)
from heap_destination.domain.violations import InvalidInput
from heap_destination.v1 import deletion_pb2

APP = "1234567890"


def violations(error: pytest.ExceptionInfo[InvalidInput]) -> dict[str, str]:
    return {v.field: v.description for v in error.value.violations}


def test_identities_are_trimmed_and_ids_made_canonical_each_kept_once_in_order() -> None:
    request = deletion_pb2.DeleteUsersRequest(
        app_id=f" {APP} ",
        identities=["b", "\u200ba ", "b"],
        heap_user_ids=["0042", "42", "0", "9007199254740991"],
    )

    assert users_to_delete(request) == UsersToDelete(
        APP, ("b", "a"), ("42", "0", "9007199254740991")
    )


def test_every_bad_field_is_named_at_once() -> None:
    request = deletion_pb2.DeleteUsersRequest(
        app_id="12ab", identities=["ok", "", "x" * 256], heap_user_ids=["-1", "4.2"]
    )

    with pytest.raises(InvalidInput) as raised:
        users_to_delete(request)

    assert set(violations(raised)) == {
        "app_id",
        "identities[1]",
        "identities[2]",
        "heap_user_ids[0]",
        "heap_user_ids[1]",
    }


def test_more_users_than_a_call_may_carry_are_refused() -> None:
    identities = [f"user-{n}" for n in range(MAX_USERS_PER_CALL)]
    request = deletion_pb2.DeleteUsersRequest(app_id=APP, identities=identities)

    assert len(users_to_delete(request).identities) == MAX_USERS_PER_CALL
    request.heap_user_ids.append("1")
    with pytest.raises(InvalidInput) as raised:
        users_to_delete(request)
    assert "split them over several calls" in violations(raised)["identities"]


def test_the_app_id_is_required_even_when_the_server_has_a_default() -> None:
    with pytest.raises(InvalidInput) as raised:
        users_to_delete(deletion_pb2.DeleteUsersRequest(identities=["a"]))

    assert "Main Production" in violations(raised)["app_id"]


@pytest.mark.parametrize(
    ("request_id", "problem"),
    [("", "required"), ("x" * 1025, "at most 1024"), ("a\tb", "control characters")],
)
def test_a_deletion_request_id_must_be_short_printable_text(request_id: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        status_query(
            deletion_pb2.GetDeletionStatusRequest(app_id=APP, deletion_request_id=request_id)
        )

    assert problem in violations(raised)["deletion_request_id"]
