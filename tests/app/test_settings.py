"""Settings from flags, environment and config file: precedence and start-up validation."""

import argparse
import json
import re
from pathlib import Path
from typing import Any

import pytest

from heap_destination.app.cli import RUN_HTTP_LISTEN, RUN_STORE
from heap_destination.app.settings import (
    ServiceSettings,
    SettingsError,
    add_service_arguments,
    service_settings,
)
from heap_destination.domain.ack_mode import AckMode
from heap_destination.domain.destination import Region
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.store import Budget


def settings(argv: list[str], env: dict[str, str] | None = None) -> ServiceSettings:
    parser = argparse.ArgumentParser()
    add_service_arguments(parser)
    return service_settings(parser.parse_args(argv), env or {})


def config_file(tmp_path: Path, content: Any) -> str:
    path = tmp_path / "config.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def test_defaults() -> None:
    got = settings([])

    assert got.listen == "127.0.0.1:50051"
    assert got.defaults.app_id is None
    assert got.engine.rate_limits.events_per_window_per_app == 15_000
    assert got.tokens is None
    assert got.metrics_listen == "127.0.0.1:9464"
    assert got.workers == 1


def test_a_flag_wins_over_the_environment_which_wins_over_the_file(tmp_path: Path) -> None:
    path = config_file(tmp_path, {"delivery_timeout": 5, "grace_period": 6, "batch_linger": 0.5})
    env = {"HEAP_DESTINATION_CONFIG": path, "HEAP_DELIVERY_TIMEOUT": "7", "HEAP_GRACE_PERIOD": "8"}

    got = settings(["--delivery-timeout", "9"], env)

    assert got.retry.delivery_timeout == 9  # flag
    assert got.grace_period == 8  # environment over file
    assert got.engine.linger == 0.5  # file over default


def test_the_files_destination_is_a_destination_config_in_protobuf_json(tmp_path: Path) -> None:
    path = config_file(
        tmp_path,
        {
            "destination": {
                "appId": "123",
                "region": "REGION_EU",
                "nested_properties_mode": "NESTED_PROPERTIES_MODE_DROP",
                "secureCookie": True,
            }
        },
    )

    got = settings(["--config", path], {"HEAP_APP_ID": "456"})

    assert got.defaults.app_id == "456"  # the environment still wins
    assert got.defaults.region is Region.EU
    assert got.defaults.nested_mode is NestedMode.DROP
    assert got.defaults.secure_cookie is True


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ("[1]", "must hold a JSON object"),
        ({"listne": "x"}, "unknown keys ['listne']"),
        ({"app_id": "1"}, "unknown keys ['app_id']"),
        ({"destination": {"appID": 1}}, "config file key 'destination'"),
        ({"workers": "two"}, "config file key 'workers'"),
        ({"workers": [2]}, "config file key 'workers': must be a string, number or boolean"),
    ],
)
def test_a_bad_config_file_names_the_problem(tmp_path: Path, content: Any, message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        settings(["--config", config_file(tmp_path, content)])


def test_a_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=re.escape("nope.json")):
        settings(["--config", str(tmp_path / "nope.json")])


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["--delivery-timeout", "0"], {}, "--delivery-timeout='0': must be positive"),
        ([], {"HEAP_GRACE_PERIOD": "-1"}, "HEAP_GRACE_PERIOD='-1': must not be negative"),
        (["--listen", "nowhere"], {}, "--listen='nowhere': use host:port"),
        (["--base-url", "heapanalytics.com"], {}, "--base-url='heapanalytics.com'"),
        ([], {"HEAP_REGION": "asia"}, "HEAP_REGION='asia': must be one of us, eu"),
        ([], {"HEAP_ANONYMOUS_ID_AS_IDENTITY": "maybe"}, "must be true or false"),
        (["--workers", "many"], {}, "--workers='many'"),
        (["--tls-cert", "cert.pem"], {}, "TLS needs both --tls-cert and --tls-key"),
        (["--tls-client-ca", "ca.pem"], {}, "--tls-client-ca needs --tls-cert and --tls-key"),
    ],
)
def test_each_bad_setting_stops_the_start_naming_it(
    argv: list[str], env: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        settings(argv, env)


def test_zero_turns_a_rate_limit_off() -> None:
    got = settings(["--rate-limit-per-app", "0"], {"HEAP_RATE_LIMIT_PER_IDENTITY": "0"})

    assert not got.engine.rate_limits.enabled


@pytest.mark.parametrize("listen", ["0.0.0.0:50051", "10.1.2.3:50051", "[::]:50051"])
def test_a_non_loopback_address_needs_tokens_or_an_explicit_flag(listen: str) -> None:
    with pytest.raises(SettingsError, match="--allow-unauthenticated"):
        settings(["--listen", listen])

    assert settings(["--listen", listen, "--allow-unauthenticated", "true"]).tokens is None


@pytest.mark.parametrize("listen", ["127.0.0.1:50051", "localhost:50051", "[::1]:50051"])
def test_loopback_runs_open(listen: str) -> None:
    assert settings(["--listen", listen]).tokens is None


def test_tokens_come_from_a_file_or_the_environment(tmp_path: Path) -> None:
    entries = [{"token": "a-long-enough-token-1", "app_ids": ["1"]}]
    tokens_file = tmp_path / "tokens.json"
    tokens_file.write_text(json.dumps(entries))

    from_file = settings(["--listen", "0.0.0.0:1", "--tokens-file", str(tokens_file)])
    from_env = settings(["--listen", "0.0.0.0:1"], {"HEAP_DESTINATION_TOKENS": json.dumps(entries)})

    for got in (from_file, from_env):
        assert got.tokens is not None
        caller = got.tokens.caller("a-long-enough-token-1")
        assert caller is not None and caller.may_use("1") and not caller.may_use("2")
        assert got.tokens.caller("a-long-enough-token-2") is None


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        ("not json", "HEAP_DESTINATION_TOKENS: not JSON"),
        ("[]", "non-empty JSON list"),
        ('[{"token": "short"}]', "HEAP_DESTINATION_TOKENS[0].token: must be at least 16"),
        ('[{"token": "a-long-enough-token", "apps": []}]', "unknown keys"),
        ('[{"token": "a-long-enough-token", "app_ids": "1"}]', "app_ids: must be a list"),
    ],
)
def test_bad_tokens_are_named_without_showing_them(tokens: str, message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)) as raised:
        settings([], {"HEAP_DESTINATION_TOKENS": tokens})

    assert "a-long-enough-token" not in str(raised.value)


def test_the_bounds_have_their_documented_defaults() -> None:
    got = settings([])

    assert got.max_in_flight_bytes == 16 * 1024 * 1024
    assert got.max_in_flight_bytes_per_stream == 4 * 1024 * 1024
    assert got.max_message_bytes == 4 * 1024 * 1024
    assert got.max_concurrent_calls == 200
    assert got.engine.max_requests == 16
    assert got.engine.max_destinations == 1000
    assert got.extra_base_urls == frozenset()


def test_allowed_base_urls_are_normalized_and_the_servers_own_is_always_allowed() -> None:
    got = settings(
        ["--base-url", "http://127.0.0.1:8787/"],
        {"HEAP_ALLOWED_BASE_URLS": "HTTPS://Sim.Example.com, http://[::1]:9000/"},
    )

    assert got.allowed_base_urls == {
        "https://sim.example.com",
        "http://[::1]:9000",
        "http://127.0.0.1:8787",
    }


@pytest.mark.parametrize(
    ("urls", "rule"),
    [
        ("https://user:pw@sim.example.com", "user name or password"),
        ("https://sim.example.com/api", "only a scheme, a host and a port"),
        ("ftp://sim.example.com", "http or https"),
        ("https://sim.example.com:70000", "port"),
    ],
)
def test_a_bad_allowed_base_url_stops_the_start_naming_it(urls: str, rule: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(rule)) as raised:
        settings(["--allowed-base-urls", urls])

    assert "--allowed-base-urls" in str(raised.value)


def test_an_unknown_enum_in_the_files_destination_stops_the_start(tmp_path: Path) -> None:
    path = config_file(tmp_path, {"destination": {"appId": "123", "region": 7}})

    with pytest.raises(SettingsError, match=re.escape("config.region")):
        settings(["--config", path])


def test_the_server_has_no_store_and_delivers_by_default() -> None:
    got = settings([])

    assert got.store_url is None
    assert got.defaults.ack_mode is None
    assert got.stored_delivery.max_retry_age == 24 * 3600
    assert got.history_retention == 7 * 24 * 3600


def test_store_settings_and_the_shared_budget_follow_the_rate_limits() -> None:
    got = settings(
        [
            "--store",
            "sqlite:/tmp/x.db",
            "--ack-mode",
            "stored",
            "--max-retry-age",
            "3600",
            "--max-stored-events-per-app",
            "10",
            "--rate-limit-per-app",
            "100",
            "--rate-limit-window",
            "10",
        ]
    )

    assert got.store_url == "sqlite:/tmp/x.db"
    assert got.defaults.ack_mode is AckMode.STORED
    assert got.stored_delivery.max_retry_age == 3600
    assert got.max_stored_events_per_app == 10
    assert got.stored_delivery.budget == Budget(100, 1000, 10.0)


def test_run_keeps_a_store_under_data_unless_told_otherwise() -> None:
    parser = argparse.ArgumentParser()
    add_service_arguments(parser)
    args = parser.parse_args([])

    assert service_settings(args, {}, store_default=RUN_STORE).store_url == RUN_STORE
    assert service_settings(args, {"HEAP_STORE": "none"}, store_default=RUN_STORE).store_url is None


def test_a_new_store_is_made_in_an_empty_file_only_when_asked_or_for_runs_own_store() -> None:
    parser = argparse.ArgumentParser()
    add_service_arguments(parser)
    named = ["--store", "sqlite:/tmp/x.db"]

    assert settings(named).store_create is False
    assert settings([*named, "--store-create", "true"]).store_create is True
    assert settings(named, {"HEAP_STORE_CREATE": "1"}).store_create is True
    assert service_settings(parser.parse_args([]), {}, store_default=RUN_STORE).store_create
    assert not service_settings(parser.parse_args(named), {}, store_default=RUN_STORE).store_create
    with pytest.raises(SettingsError, match="--store-create='maybe': must be true or false"):
        settings([*named, "--store-create", "maybe"])


def test_stored_as_the_default_ack_mode_needs_a_store() -> None:
    with pytest.raises(SettingsError, match="--ack-mode stored needs a store"):
        settings(["--ack-mode", "stored"])


def test_the_http_intake_is_off_for_serve_and_on_for_run_unless_told_otherwise() -> None:
    parser = argparse.ArgumentParser()
    add_service_arguments(parser)
    run = service_settings(parser.parse_args([]), {}, RUN_STORE, http_default=RUN_HTTP_LISTEN)

    assert settings([]).http_listen is None
    assert run.http_listen == "127.0.0.1:8790"
    assert settings(["--http-listen", "127.0.0.1:9000"]).http_listen == "127.0.0.1:9000"
    assert settings(["--http-listen", "off"]).http_listen is None
    off_for_run = parser.parse_args(["--http-listen", "off"])
    assert service_settings(off_for_run, {}, http_default=RUN_HTTP_LISTEN).http_listen is None
    assert settings([], {"HEAP_DESTINATION_HTTP_LISTEN": "[::1]:0"}).http_listen == "[::1]:0"
    with pytest.raises(SettingsError, match="--http-listen"):
        settings(["--http-listen", "8790"])


def test_the_http_ack_mode_is_stored_with_a_store_else_delivered_unless_told() -> None:
    store = ["--store", "sqlite:/tmp/x.db"]

    assert settings([]).http_acks is AckMode.DELIVERED
    assert settings(store).http_acks is AckMode.STORED
    assert settings([*store, "--http-ack-mode", "delivered"]).http_acks is AckMode.DELIVERED
    with pytest.raises(SettingsError, match="--http-ack-mode stored needs a store"):
        settings(["--http-ack-mode", "stored"])


def test_a_non_loopback_http_address_needs_tokens_too() -> None:
    with pytest.raises(SettingsError, match=r"listening on 0\.0\.0\.0:8790 with no tokens"):
        settings(["--http-listen", "0.0.0.0:8790"])
    assert settings(["--http-listen", "0.0.0.0:8790", "--allow-unauthenticated", "true"])
