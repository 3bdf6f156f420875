"""Write keys: a token as a Segment write key, and the one app it sends to."""

import base64
import json

import pytest

from heap_destination.api.segment.write_keys import WriteKeys, WrongKey, header_key
from heap_destination.app.tokens import parse_tokens

TOKENS = parse_tokens(
    json.dumps(
        [
            {"token": "one-app-token-0000", "name": "one", "app_ids": ["11"]},
            {
                "token": "named-app-token-000",
                "name": "named",
                "app_ids": ["11", "22"],
                "write_key_app_id": "22",
            },
            {"token": "several-token-00000", "name": "several", "app_ids": ["11", "22"]},
            {"token": "any-app-token-00000", "name": "any"},
            {"token": "no-app-token-000000", "name": "none", "app_ids": []},
        ]
    ),
    "tokens",
)


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def test_a_key_sends_to_its_write_key_app_id_else_its_only_app_else_the_default() -> None:
    keys = WriteKeys(TOKENS.caller, "99")

    assert keys.resolve(basic("one-app-token-0000"), None).app_id == "11"
    assert keys.resolve(basic("named-app-token-000"), None).app_id == "22"
    assert keys.resolve(basic("any-app-token-00000"), None).app_id == "99"
    assert keys.resolve(None, "one-app-token-0000").app_id == "11"


@pytest.mark.parametrize(
    ("authorization", "body_key", "default", "reason"),
    [
        (None, None, "99", "no write key"),
        (basic("unknown-token-00000"), None, "99", "not a token this service knows"),
        (None, "unknown-token-00000", "99", "not a token this service knows"),
        (basic("several-token-00000"), None, "99", "covers several app_ids"),
        (basic("no-app-token-000000"), None, "99", "covers no app_id"),
        (basic("any-app-token-00000"), None, None, "no default app_id"),
        ("Bearer one-app-token-0000", None, "99", "no write key"),
        ("Basic !!!not-base64", None, "99", "no write key"),
        (None, 12345, "99", "no write key"),
    ],
)
def test_keys_that_cannot_send_are_refused_with_the_reason(
    authorization: str | None, body_key: object, default: str | None, reason: str
) -> None:
    with pytest.raises(WrongKey, match=reason):
        WriteKeys(TOKENS.caller, default).resolve(authorization, body_key)


def test_the_header_key_wins_over_the_body_key() -> None:
    key = WriteKeys(TOKENS.caller, None).resolve(basic("one-app-token-0000"), "named-app-token-000")

    assert key.caller is not None and key.caller.name == "one"


def test_without_tokens_any_key_or_none_sends_to_the_default_app() -> None:
    keys = WriteKeys(None, "99")

    assert keys.resolve(None, None).app_id == "99"
    assert keys.resolve(basic("whatever"), None).caller is None
    with pytest.raises(WrongKey, match="no default app_id"):
        WriteKeys(None, None).resolve(None, None)


def test_the_header_is_basic_with_the_key_as_user_and_an_empty_password() -> None:
    assert header_key(basic("k")) == "k"
    assert header_key("basic " + base64.b64encode(b"k:ignored").decode()) == "k"
    assert header_key("Basic " + base64.b64encode(b":").decode()) is None
    assert header_key("Basic " + base64.b64encode(b"\xff").decode()) is None


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"write_key_app_id": 5}, "write_key_app_id: must be a non-empty string"),
        ({"write_key_app_id": " "}, "write_key_app_id: must be a non-empty string"),
        (
            {"app_ids": ["1"], "write_key_app_id": "2"},
            "write_key_app_id: must be one of its app_ids",
        ),
    ],
)
def test_a_bad_write_key_app_id_in_the_tokens_file_is_named(
    entry: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        parse_tokens(json.dumps([{"token": "t" * 16, **entry}]), "tokens")
