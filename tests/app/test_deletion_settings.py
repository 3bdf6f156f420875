"""Heap's API key (from a file or HEAP_API_KEY, never a flag, never shown) and the tokens
file's deletion right."""

import argparse
from pathlib import Path

import pytest

from heap_destination.api.deletion.rights import UserDeleter
from heap_destination.app.settings import (
    ServiceSettings,
    SettingsError,
    add_service_arguments,
    service_settings,
)
from heap_destination.app.tokens import parse_tokens

KEY = "heap-key-8d2f61c0"
TOKEN = "token-0123456789abcdef"


def settings(argv: list[str], env: dict[str, str] | None = None) -> ServiceSettings:
    parser = argparse.ArgumentParser()
    add_service_arguments(parser)
    return service_settings(parser.parse_args(argv), env or {})


def key_file(tmp_path: Path, text: str = f"{KEY}\n") -> str:
    path = tmp_path / "heap-api-key"
    path.write_text(text)
    return str(path)


def test_the_key_comes_from_its_file_given_by_flag_or_environment(tmp_path: Path) -> None:
    path = key_file(tmp_path)

    by_flag = settings(["--heap-api-key-file", path]).heap_api_key
    by_env = settings([], {"HEAP_API_KEY_FILE": path}).heap_api_key

    assert by_flag is not None and by_flag.reveal() == KEY
    assert by_env is not None and by_env.reveal() == KEY


def test_the_key_comes_from_heap_api_key_in_the_environment() -> None:
    got = settings([], {"HEAP_API_KEY": KEY}).heap_api_key

    assert got is not None and got.reveal() == KEY


def test_without_a_key_the_server_has_none() -> None:
    assert settings([]).heap_api_key is None
    assert settings([], {"HEAP_API_KEY": ""}).heap_api_key is None


def test_the_key_never_shows_in_the_settings_repr(tmp_path: Path) -> None:
    got = settings(["--heap-api-key-file", key_file(tmp_path)])

    for shown in (repr(got), str(got), repr(got.heap_api_key), f"{got.heap_api_key}"):
        assert KEY not in shown
    assert "HeapApiKey(<hidden>)" in repr(got)


def test_a_key_given_as_a_flag_is_refused_without_repeating_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for argv in (["--heap-api-key", KEY], [f"--heap-api-key={KEY}"]):
        with pytest.raises(SystemExit):
            settings(argv)
        error = capsys.readouterr().err
        assert "read only from a file" in error
        assert KEY not in error


@pytest.mark.parametrize(
    ("argv", "env", "problem"),
    [
        ([], {"HEAP_API_KEY": KEY, "HEAP_API_KEY_FILE": "{key_file}"}, "not both"),
        (["--heap-api-key-file", KEY], {}, "cannot read the file"),
        (["--heap-api-key-file", "{empty_file}"], {}, "holds no key"),
        ([], {"HEAP_API_KEY": f"{KEY} {KEY}"}, "one word"),
    ],
    ids=["set twice", "no such file", "empty file", "two words"],
)
def test_a_bad_key_setting_is_refused_without_quoting_the_key(
    tmp_path: Path, argv: list[str], env: dict[str, str], problem: str
) -> None:
    (tmp_path / "empty").mkdir()
    files = {"key_file": key_file(tmp_path), "empty_file": key_file(tmp_path / "empty", "\n")}

    with pytest.raises(SettingsError) as raised:
        settings(
            [arg.format(**files) for arg in argv],
            {name: value.format(**files) for name, value in env.items()},
        )

    assert problem in str(raised.value)
    assert KEY not in str(raised.value)


def test_a_token_may_delete_users_only_when_its_entry_says_so() -> None:
    tokens = parse_tokens(
        f'[{{"token": "{TOKEN}1", "name": "privacy", "may_delete_users": true}},'
        f' {{"token": "{TOKEN}2", "name": "billing", "app_ids": ["1"]}},'
        f' {{"token": "{TOKEN}3", "may_delete_users": false}}]',
        "tokens",
    )

    assert isinstance(tokens.caller(f"{TOKEN}1"), UserDeleter)
    assert not isinstance(tokens.caller(f"{TOKEN}2"), UserDeleter)
    assert not isinstance(tokens.caller(f"{TOKEN}3"), UserDeleter)


def test_may_delete_users_must_be_a_boolean() -> None:
    with pytest.raises(ValueError, match=r"tokens\[0\]\.may_delete_users: must be true or false"):
        parse_tokens(f'[{{"token": "{TOKEN}", "may_delete_users": "yes"}}]', "tokens")
