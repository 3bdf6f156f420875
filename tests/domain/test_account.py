"""Account updates to Heap's add_account_properties call."""

import pytest

from heap_destination.domain.account import AccountInput, PreparedAccount, prepare_account
from heap_destination.domain.heap_calls import HeapAccountProperties
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.domain.property_warnings import WarningReason
from heap_destination.domain.violations import InvalidInput

from .helpers import destination, violation_fields, warning_tuples


def account(nested_mode: NestedMode = NestedMode.FLATTEN, **fields: object) -> PreparedAccount:
    values: dict[str, object] = {"account_id": "acme", "properties": {"plan": "pro"}}
    values.update(fields)
    request = AccountInput(**values)  # type: ignore[arg-type]
    return prepare_account(request, destination(nested_mode))


def rejection(**fields: object) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInput) as caught:
        account(**fields)
    return [(v.field, v.description) for v in caught.value.violations]


def test_nested_properties_are_flattened_for_the_account() -> None:
    prepared = account(
        account_id="acme", properties={"plan": {"name": "pro", "seats": 40}, "active": True}
    )

    assert prepared.account == HeapAccountProperties(
        "acme", {"plan.name": "pro", "plan.seats": 40, "active": "true"}
    )
    assert prepared.warnings == ()


def test_the_account_id_is_trimmed_of_invisible_edges() -> None:
    assert account(account_id="\u200b acme \n").account.account_id == "acme"


def test_the_account_id_keeps_its_case() -> None:
    assert account(account_id="ACME-Corp").account.account_id == "ACME-Corp"


@pytest.mark.parametrize("account_id", ["", "   ", "\u200b\ufeff"])
def test_a_missing_account_id_is_refused(account_id: str) -> None:
    assert rejection(account_id=account_id) == [
        ("account_id", "required: Heap needs an account id")
    ]


def test_an_account_id_over_1024_characters_is_refused() -> None:
    assert account(account_id="a" * 1024).account.account_id == "a" * 1024
    [(field, description)] = rejection(account_id="a" * 1025)
    assert field == "account_id"
    assert "at most 1024 characters" in description and "1025" in description


def test_control_characters_in_the_account_id_are_refused() -> None:
    assert violation_fields_of(account_id="ac\x00me") == ["account_id"]


def test_an_update_with_no_properties_is_refused() -> None:
    [(field, description)] = rejection(properties={})
    assert field == "properties"
    assert "nothing to send" in description


def test_bad_account_id_and_bad_properties_are_reported_together() -> None:
    assert violation_fields_of(account_id="", properties={"": 1}) == [
        "account_id",
        "properties",
    ]


def test_long_values_are_cut_with_a_warning_as_for_events() -> None:
    prepared = account(properties={"note": "x" * 2000})

    assert prepared.account.properties == {"note": "x" * 1024}
    assert warning_tuples(prepared.warnings) == [
        ("properties", "note", WarningReason.VALUE_TRUNCATED)
    ]


def test_arrays_are_stringified_in_every_mode() -> None:
    assert account(properties={"tags": ["a", "b"]}).account.properties == {"tags": '["a","b"]'}


def test_the_destinations_nested_mode_applies() -> None:
    prepared = account(NestedMode.STRINGIFY, properties={"plan": {"name": "pro"}})

    assert prepared.account.properties == {"plan": '{"name":"pro"}'}


def violation_fields_of(**fields: object) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        account(**fields)
    return violation_fields(caught.value.violations)
