"""The command line's traps, parsed through `heap-destination`'s own parser: abbreviated
flags, booleans that need a value, "default None" in help, the top-level usage for a
subcommand's mistake, and a SQLite store in a directory that does not exist."""

import argparse
from pathlib import Path

import pytest

from heap_destination.app import cli
from heap_destination.app.settings import SettingsError, service_settings


def parse(*argv: str) -> argparse.Namespace:
    return cli._parser().parse_args(list(argv))


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """What parsing `argv` printed on standard error; it must exit 2."""
    with pytest.raises(SystemExit) as exited:
        parse(*argv)
    assert exited.value.code == 2
    return capsys.readouterr().err


def every_parser(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                found.extend(every_parser(sub))
    return found


def test_no_parser_takes_an_abbreviated_flag(capsys: pytest.CaptureFixture[str]) -> None:
    parsers = every_parser(cli._parser())

    assert len(parsers) > 15
    assert [p.prog for p in parsers if p.allow_abbrev] == []
    error = refused(capsys, "send", "track", "--app", "1", "--event", "Paid")
    assert "unrecognized arguments: --app 1" in error
    assert "--app" in refused(capsys, "serve", "--app", "1")


def test_a_subcommands_mistake_prints_its_own_usage(capsys: pytest.CaptureFixture[str]) -> None:
    serve = refused(capsys, "serve", "--no-such-flag")
    migrate = refused(capsys, "store", "migrate", "--bogus")
    track = refused(capsys, "send", "track", "--bogus")

    assert serve.startswith("usage: heap-destination serve ")
    assert "heap-destination serve: error: unrecognized arguments: --no-such-flag" in serve
    assert migrate.startswith("usage: heap-destination store migrate ")
    assert "heap-destination store migrate: error: unrecognized arguments: --bogus" in migrate
    assert track.startswith("usage: heap-destination send track ")


@pytest.mark.parametrize(
    ("argv", "allowed", "single_events"),
    [
        ((), False, True),
        (("--allow-unauthenticated",), True, True),
        (("--allow-unauthenticated", "true"), True, True),
        (("--allow-unauthenticated=yes", "--no-single-event-requests"), True, False),
        (("--single-event-requests", "false"), False, False),
        (("--no-single-event-requests", "--single-event-requests"), False, True),
        (("--allow-unauthenticated", "--no-allow-unauthenticated"), False, True),
    ],
)
def test_booleans_are_flags_and_still_take_a_value(
    argv: tuple[str, ...], allowed: bool, single_events: bool
) -> None:
    args = parse("serve", "--listen", "0.0.0.0:50051", *argv)

    if allowed:
        settings = service_settings(args, {})
        assert settings.engine.single_events.enabled is single_events
    else:
        with pytest.raises(SettingsError, match="--allow-unauthenticated"):
            service_settings(args, {})
    assert service_settings(parse("serve", *argv), {}).engine.single_events.enabled is (
        single_events
    )


def test_a_boolean_with_a_wrong_value_or_a_negation_with_one_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SettingsError, match=r"--native-arrays='maybe': must be true or false"):
        service_settings(parse("serve", "--native-arrays", "maybe"), {})
    assert "unrecognized arguments: true" in refused(capsys, "serve", "--no-native-arrays", "true")
    assert parse("store", "migrate", "--store-create").store_create == "true"
    assert parse("store", "migrate", "--no-create-dirs").create_dirs == "false"


def test_help_shows_real_defaults_never_none() -> None:
    helps = {parser.prog: parser.format_help() for parser in every_parser(cli._parser())}

    assert [prog for prog, text in helps.items() if "default None" in text] == []
    serve = " ".join(helps["heap-destination serve"].split())
    assert "(env HEAP_REGION; default us)" in serve
    assert "default serve: none; run: sqlite:data/heap-destination.db" in serve
    assert "(env HEAP_DESTINATION_ALLOW_UNAUTHENTICATED; default false)" in serve
    assert "(env HEAP_SINGLE_EVENT_REQUESTS; default true)" in serve


def test_a_sqlite_store_in_a_missing_directory_is_refused_unless_create_dirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:{tmp_path / 'no' / 'such' / 'store.db'}"

    with pytest.raises(SettingsError) as refusal:
        service_settings(parse("serve", "--store", url), {})
    made = service_settings(parse("serve", "--store", url, "--create-dirs"), {})
    from_env = service_settings(parse("serve", "--store", url), {"HEAP_CREATE_DIRS": "true"})
    existing = service_settings(parse("serve", "--store", f"sqlite:{tmp_path / 'x.db'}"), {})
    monkeypatch.chdir(tmp_path)
    run = service_settings(parse("run"), {}, store_default=cli.RUN_STORE)

    assert str(refusal.value) == (
        f"--store {url}: the directory {tmp_path / 'no' / 'such'} does not exist; make it, "
        "or pass --create-dirs to have it made"
    )
    assert made.store_url == from_env.store_url == url
    assert existing.store_url is not None
    assert run.store_url == cli.RUN_STORE  # run's own store: its data/ is made
    assert not (tmp_path / "no").exists()
