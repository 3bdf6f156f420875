"""Identify calls to Heap's add user properties and identify calls."""

import math
from datetime import UTC, datetime

import pytest

from heap_destination.domain.heap_calls import HeapIdentify, HeapUserProperties
from heap_destination.domain.identify import IdentifyInput, PreparedIdentify, prepare_identify
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.domain.property_warnings import WarningReason
from heap_destination.domain.violations import InvalidInput

from .helpers import destination, violation_fields, warning_tuples

WHEN = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)


def identify(**fields: object) -> PreparedIdentify:
    values: dict[str, object] = {"user_id": "user-1"}
    values.update(fields)
    return prepare_identify(IdentifyInput(**values), destination())  # type: ignore[arg-type]


def rejected_fields(**fields: object) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        identify(**fields)
    return violation_fields(caught.value.violations)


# traits


def test_traits_become_user_properties_of_the_identity() -> None:
    prepared = identify(traits={"email": "ada@example.com", "plan": {"name": "pro"}})

    assert prepared.identity == "user-1"
    assert prepared.user_properties == HeapUserProperties(
        identity="user-1", properties={"email": "ada@example.com", "plan.name": "pro"}
    )
    assert prepared.identify is None
    assert prepared.warnings == ()


def test_trait_numbers_and_booleans_follow_the_flatten_rules() -> None:
    prepared = identify(traits={"age": 36.0, "score": 1.5, "vip": True, "tags": ["a", "b"]})

    assert prepared.user_properties == HeapUserProperties(
        "user-1", {"age": 36, "score": 1.5, "tags": '["a","b"]', "vip": "true"}
    )


def test_traits_use_the_destination_nested_mode() -> None:
    request = IdentifyInput(user_id="u", traits={"tags": ["a", "b"]})

    prepared = prepare_identify(request, destination(NestedMode.INDEXED))

    assert prepared.user_properties == HeapUserProperties("u", {"tags.0": "a", "tags.1": "b"})


def test_anonymous_id_is_added_as_a_user_property() -> None:
    prepared = identify(anonymous_id=" anon-1 ", traits={"plan": "pro"})

    assert prepared.user_properties == HeapUserProperties(
        "user-1", {"plan": "pro", "anonymous_id": "anon-1"}
    )


def test_anonymous_id_alone_is_something_to_send() -> None:
    prepared = identify(anonymous_id="anon-1")

    assert prepared.user_properties == HeapUserProperties("user-1", {"anonymous_id": "anon-1"})
    assert prepared.identify is None


def test_whitespace_anonymous_id_is_not_added() -> None:
    prepared = identify(anonymous_id="  ", traits={"plan": "pro"})

    assert prepared.user_properties == HeapUserProperties("user-1", {"plan": "pro"})


def test_anonymous_id_property_is_trimmed_of_invisible_characters() -> None:
    prepared = identify(anonymous_id="\ufeff anon-1\u200b", traits={"plan": "pro"})

    assert prepared.user_properties == HeapUserProperties(
        "user-1", {"plan": "pro", "anonymous_id": "anon-1"}
    )


@pytest.mark.parametrize("anonymous_id", ["\u200b", "\u3000\u00a0", "\ufeff\u2060"])
def test_invisible_anonymous_id_adds_nothing(anonymous_id: str) -> None:
    prepared = identify(anonymous_id=anonymous_id, traits={"plan": "pro"})

    assert prepared.user_properties == HeapUserProperties("user-1", {"plan": "pro"})


def test_invisible_anonymous_id_alone_is_nothing_to_send() -> None:
    assert rejected_fields(anonymous_id="\u200b\u3000") == ["traits"]


def test_user_id_with_a_control_character_is_rejected() -> None:
    assert rejected_fields(user_id="user\n1", traits={"plan": "pro"}) == ["user_id"]


def test_anonymous_id_property_may_hold_control_characters_when_not_the_identity() -> None:
    prepared = identify(anonymous_id="anon\t1")

    assert prepared.user_properties == HeapUserProperties("user-1", {"anonymous_id": "anon\t1"})


def test_anonymous_id_field_wins_over_an_anonymous_id_trait_with_collision_warning() -> None:
    prepared = identify(anonymous_id="anon-1", traits={"anonymous_id": "other"})

    assert prepared.user_properties == HeapUserProperties("user-1", {"anonymous_id": "anon-1"})
    assert warning_tuples(prepared.warnings) == [
        ("traits", "anonymous_id", WarningReason.KEY_COLLISION)
    ]


@pytest.mark.parametrize("key", ["id", "ID", "Id"])
def test_id_trait_is_omitted_with_warning(key: str) -> None:
    prepared = identify(traits={key: "42", "plan": "pro"})

    assert prepared.user_properties == HeapUserProperties("user-1", {"plan": "pro"})
    assert warning_tuples(prepared.warnings) == [
        ("traits", key, WarningReason.RESERVED_KEY_OMITTED)
    ]


def test_identity_and_nested_user_id_traits_are_kept() -> None:
    prepared = identify(traits={"identity": "x", "user": {"id": "y"}})

    assert prepared.user_properties == HeapUserProperties(
        "user-1", {"identity": "x", "user.id": "y"}
    )


def test_long_trait_value_is_truncated_with_warning() -> None:
    prepared = identify(traits={"bio": "b" * 1025})

    assert prepared.user_properties == HeapUserProperties("user-1", {"bio": "b" * 1024})
    assert warning_tuples(prepared.warnings) == [("traits", "bio", WarningReason.VALUE_TRUNCATED)]


# heap_user_id


@pytest.mark.parametrize("heap_user_id", ["0", "1", "8675309", "9007199254740991"])
def test_valid_heap_user_id_adds_an_identify_call(heap_user_id: str) -> None:
    prepared = identify(heap_user_id=heap_user_id, timestamp=WHEN)

    assert prepared.identify == HeapIdentify(
        identity="user-1", heap_user_id=heap_user_id, timestamp=WHEN
    )


def test_heap_user_id_is_trimmed() -> None:
    prepared = identify(heap_user_id=" 42 ")

    assert prepared.identify == HeapIdentify("user-1", "42")


@pytest.mark.parametrize(
    ("heap_user_id", "sent"),
    [
        ("007", "7"),
        (" 42 ", "42"),
        ("0", "0"),
        ("000", "0"),
        ("00009007199254740991", "9007199254740991"),
        ("0" * 5000 + "1", "1"),
    ],
)
def test_heap_user_id_is_sent_as_its_canonical_decimal(heap_user_id: str, sent: str) -> None:
    assert identify(heap_user_id=heap_user_id).identify == HeapIdentify("user-1", sent)


@pytest.mark.parametrize("heap_user_id", ["00009007199254740992", "9" * 5000, "1" + "0" * 4400])
def test_heap_user_id_too_large_with_many_digits_is_rejected(heap_user_id: str) -> None:
    assert rejected_fields(heap_user_id=heap_user_id) == ["heap_user_id"]


@pytest.mark.parametrize(
    "heap_user_id",
    [
        "abc",
        "-1",
        "+1",
        "9007199254740992",
        "1.5",
        "1e3",
        "4 2",
        " ",
        "\t",
        "١٢٣",
        "\uff11\uff12\uff13",
        "²",
    ],
)
def test_invalid_heap_user_id_is_rejected(heap_user_id: str) -> None:
    assert rejected_fields(heap_user_id=heap_user_id, traits={"plan": "pro"}) == ["heap_user_id"]


def test_invalid_heap_user_id_without_traits_names_only_heap_user_id() -> None:
    assert rejected_fields(heap_user_id="abc") == ["heap_user_id"]


def test_no_identify_call_without_heap_user_id() -> None:
    assert identify(traits={"plan": "pro"}).identify is None


def test_heap_user_id_without_traits_sends_only_identify() -> None:
    prepared = identify(heap_user_id="42")

    assert prepared.user_properties is None
    assert prepared.identify == HeapIdentify("user-1", "42")


def test_heap_user_id_and_traits_send_both() -> None:
    prepared = identify(heap_user_id="42", traits={"plan": "pro"})

    assert prepared.user_properties == HeapUserProperties("user-1", {"plan": "pro"})
    assert prepared.identify == HeapIdentify("user-1", "42")


# nothing to send, identity, several violations


def test_nothing_to_send_is_a_traits_violation() -> None:
    assert rejected_fields(traits={}) == ["traits"]


def test_traits_that_all_get_left_out_are_nothing_to_send() -> None:
    assert rejected_fields(traits={"id": "x", "gone": None}) == ["traits"]


def test_identity_is_the_trimmed_user_id() -> None:
    assert identify(user_id="  user-1  ", traits={"a": "b"}).identity == "user-1"


def test_only_anonymous_id_is_rejected_by_default() -> None:
    assert rejected_fields(user_id="", anonymous_id="anon-1", traits={"a": "b"}) == ["user_id"]


def test_only_anonymous_id_is_the_identity_when_the_destination_allows() -> None:
    request = IdentifyInput(anonymous_id="anon-1", traits={"plan": "pro"})

    prepared = prepare_identify(request, destination(anonymous_id_as_identity=True))

    assert prepared.identity == "anon-1"
    assert prepared.user_properties == HeapUserProperties(
        "anon-1", {"plan": "pro", "anonymous_id": "anon-1"}
    )


def test_missing_identity_is_rejected_even_with_traits() -> None:
    assert rejected_fields(user_id=" ", traits={"a": "b"}) == ["user_id"]


def test_violations_of_several_fields_are_reported_together() -> None:
    fields = rejected_fields(user_id="", heap_user_id="abc", traits={"score": math.nan})

    assert fields == ["user_id", "heap_user_id", "traits.score"]
