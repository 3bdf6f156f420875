"""The service's settings, read from flags, environment and an optional config file.

See options.py for the precedence. Everything is validated here, at start-up, with a
message that names the bad setting.
"""

import argparse
import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from heap_destination.api.mapping.config import settings_from_config
from heap_destination.app.option_table import (
    DEFAULT_HISTORY_RETENTION,
    DEFAULT_MAX_CONCURRENT_CALLS,
    DEFAULT_MAX_IN_FLIGHT_BYTES,
    DEFAULT_MAX_IN_FLIGHT_BYTES_PER_STREAM,
    DEFAULT_MAX_MESSAGE_BYTES,
    DEFAULT_MAX_STORED_EVENTS,
    DEFAULT_MAX_STORED_EVENTS_PER_APP,
    HEAP_API_KEY_ENV,
    HEAP_API_KEY_FILE_ENV,
    OPTIONS,
    TOKENS_ENV,
    TOKENS_FILE_ENV,
)
from heap_destination.app.options import SettingsError, add_options, resolve_options
from heap_destination.app.store_directory import refuse_missing_directory
from heap_destination.app.tls import TlsFiles
from heap_destination.app.tokens import TokenStore, parse_tokens, read_tokens_file
from heap_destination.delivery.deletion.api_key import HeapApiKey
from heap_destination.delivery.engine import EngineSettings
from heap_destination.delivery.heap.retry_policy import RetryPolicy
from heap_destination.delivery.limits.budget_scheduler import SingleEventSettings
from heap_destination.delivery.limits.rate_limiter import RateLimitSettings
from heap_destination.domain.ack_mode import AckMode
from heap_destination.domain.destination import DestinationSettings, Region, normalize_base_url
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.domain.violations import InvalidInput
from heap_destination.durable.delivery import StoredDeliverySettings
from heap_destination.durable.singles import StoredSinglesSettings
from heap_destination.store import Budget
from heap_destination.store.opening import URL_FORMS
from heap_destination.v1 import config_pb2

__all__ = ["ServiceSettings", "SettingsError", "add_service_arguments", "service_settings"]

CONFIG_ENV = "HEAP_DESTINATION_CONFIG"


@dataclass(frozen=True)
class ServiceSettings:
    listen: str
    defaults: DestinationSettings
    retry: RetryPolicy
    grace_period: float
    engine: EngineSettings = field(default_factory=EngineSettings)
    max_in_flight_events: int = 50_000
    max_in_flight_events_per_stream: int = 10_000
    max_in_flight_bytes: int = DEFAULT_MAX_IN_FLIGHT_BYTES
    max_in_flight_bytes_per_stream: int = DEFAULT_MAX_IN_FLIGHT_BYTES_PER_STREAM
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    max_concurrent_calls: int = DEFAULT_MAX_CONCURRENT_CALLS
    extra_base_urls: frozenset[str] = frozenset()
    """Base URLs a request's config may name besides Heap's regions and the default's."""
    tokens: TokenStore | None = None
    tokens_file: Path | None = None
    """Where `tokens` came from, read again on SIGHUP; None: from the environment or none."""
    tls: TlsFiles | None = None
    metrics_listen: str | None = None
    http_listen: str | None = None
    """The Segment-compatible HTTP intake's address; None: off."""
    http_ack_mode: AckMode | None = None
    """What its 200 means; None: STORED with a store, else DELIVERED (see http_acks)."""
    workers: int = 1
    log_format: str = "json"
    log_level: str = "info"
    store_url: str | None = None
    """The durable store (ack mode STORED); None: the server has none."""
    store_create: bool = False
    """Make a new store in an empty SQLite file rather than refuse it."""
    stored_delivery: StoredDeliverySettings = field(default_factory=StoredDeliverySettings)
    max_stored_events: int = DEFAULT_MAX_STORED_EVENTS
    max_stored_events_per_app: int = DEFAULT_MAX_STORED_EVENTS_PER_APP
    history_retention: float = DEFAULT_HISTORY_RETENTION
    heap_api_key: HeapApiKey | None = None
    """For Heap's user deletion API; None: DeleteUsers answers FAILED_PRECONDITION."""

    @property
    def listen_host(self) -> str:
        return self.listen.rpartition(":")[0]

    @property
    def http_acks(self) -> AckMode:
        """What the HTTP intake's 200 means: --http-ack-mode, else STORED when there is a
        store (an SDK cannot wait for Heap), else DELIVERED."""
        if self.http_ack_mode is not None:
            return self.http_ack_mode
        return AckMode.STORED if self.store_url is not None else AckMode.DELIVERED

    @property
    def allowed_base_urls(self) -> frozenset[str]:
        """Every base URL a request may deliver to, besides Heap's regions (normalized)."""
        own = self.defaults.base_url
        return self.extra_base_urls | ({normalize_base_url(own)} if own else set())


def add_service_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", help=f"JSON config file; see docs/configuration.md (env {CONFIG_ENV})"
    )
    add_options(parser, OPTIONS)
    # Registered to say where the key goes, rather than only "unrecognized arguments".
    parser.add_argument("--heap-api-key", nargs="?", action=_NoKeyFlag, help=argparse.SUPPRESS)


class _NoKeyFlag(argparse.Action):
    """Refuses a key given as a flag (process lists show flags) without repeating it."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        parser.error(
            f"{option_string} is not a setting: Heap's API key is read only from a file "
            f"(--heap-api-key-file) or from {HEAP_API_KEY_ENV}"
        )


def service_settings(
    args: argparse.Namespace,
    env: Mapping[str, str],
    store_default: str | None = None,
    http_default: str | None = None,
) -> ServiceSettings:
    """Validated settings; raises SettingsError naming the first bad setting.

    `store_default` is the store when no setting names one (None: no store);
    `http_default` the HTTP intake's address (None: off)."""
    file_values = _config_file(args.config or env.get(CONFIG_ENV))
    values = resolve_options(OPTIONS, args, env, file_values)
    # The default store is the command's own, made where it likes.
    own_default_store = values["store"] is None and store_default is not None
    tokens = _tokens(values["tokens_file"], env)
    rate_limits = RateLimitSettings(
        events_per_window_per_app=values["rate_limit_per_app"] or None,
        events_per_window_per_identity=values["rate_limit_per_identity"] or None,
        window_seconds=values["rate_limit_window"],
    )
    settings = ServiceSettings(
        listen=values["listen"],
        defaults=_destination_defaults(values, file_values.get("destination")),
        retry=RetryPolicy(delivery_timeout=values["delivery_timeout"]),
        grace_period=values["grace_period"],
        engine=EngineSettings(
            linger=values["batch_linger"],
            max_in_flight_requests=values["max_in_flight_requests"],
            max_requests=values["max_requests_to_heap"],
            max_destinations=values["max_destinations"],
            rate_limits=rate_limits,
            single_events=SingleEventSettings(enabled=values["single_event_requests"]),
        ),
        max_in_flight_events=values["max_in_flight_events"],
        max_in_flight_events_per_stream=values["max_in_flight_events_per_stream"],
        max_in_flight_bytes=values["max_in_flight_bytes"],
        max_in_flight_bytes_per_stream=values["max_in_flight_bytes_per_stream"],
        max_message_bytes=values["max_message_bytes"],
        max_concurrent_calls=values["max_concurrent_calls"],
        extra_base_urls=values["allowed_base_urls"] or frozenset(),
        tokens=tokens,
        tokens_file=Path(values["tokens_file"]) if values["tokens_file"] else None,
        tls=_tls(values),
        metrics_listen=None if values["metrics_listen"] == "off" else values["metrics_listen"],
        http_listen=_http_listen(values["http_listen"], http_default),
        http_ack_mode=AckMode(values["http_ack_mode"]) if values["http_ack_mode"] else None,
        workers=values["workers"],
        log_format=values["log_format"],
        log_level=values["log_level"],
        store_url=_store_url(values["store"], store_default),
        store_create=values["store_create"] or own_default_store,
        stored_delivery=StoredDeliverySettings(
            max_retry_age=values["max_retry_age"],
            lease_seconds=values["store_lease"],
            split_after_failures=values["split_after_failures"],
            budget=Budget(
                rate_limits.events_per_window_per_app,
                rate_limits.events_per_window_per_identity,
                rate_limits.window_seconds,
            ),
            single_events=StoredSinglesSettings() if values["single_event_requests"] else None,
        ),
        max_stored_events=values["max_stored_events"],
        max_stored_events_per_app=values["max_stored_events_per_app"],
        history_retention=values["history_retention"],
        heap_api_key=_heap_api_key(values["heap_api_key_file"], env),
    )
    refuse_missing_directory(
        settings.store_url, create_dirs=values["create_dirs"] or own_default_store
    )
    if settings.http_ack_mode is AckMode.STORED and settings.store_url is None:
        raise SettingsError(f"--http-ack-mode stored needs a store: set --store ({URL_FORMS})")
    if settings.defaults.ack_mode is AckMode.STORED and settings.store_url is None:
        raise SettingsError(f"--ack-mode stored needs a store: set --store ({URL_FORMS})")
    http_host = settings.http_listen.rpartition(":")[0] if settings.http_listen else "localhost"
    if (
        tokens is None
        and not values["allow_unauthenticated"]
        and not (is_loopback(settings.listen_host) and is_loopback(http_host))
    ):
        raise SettingsError(
            f"listening on {_not_loopback(settings)} with no tokens would let anyone on the "
            f"network send to Heap: configure tokens, a file (--tokens-file or {TOKENS_FILE_ENV}) "
            f"or the JSON itself in {TOKENS_ENV}, or pass --allow-unauthenticated if the "
            "network in front of the service authenticates"
        )
    return settings


def _not_loopback(settings: ServiceSettings) -> str:
    if settings.http_listen and not is_loopback(settings.http_listen.rpartition(":")[0]):
        return settings.http_listen
    return settings.listen


def _http_listen(value: str | None, default: str | None) -> str | None:
    address = value if value is not None else default
    return None if address is None or address == "off" else address


def _store_url(value: str | None, default: str | None) -> str | None:
    url = value if value is not None else default
    if url is None or url.strip().lower() == "none":
        return None
    return url


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _config_file(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text())
    except OSError as error:
        raise SettingsError(f"config file {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise SettingsError(
            f"config file {path}: not JSON ({error.msg}, line {error.lineno})"
        ) from None
    if not isinstance(data, dict):
        raise SettingsError(f"config file {path}: must hold a JSON object")
    known = {o.name for o in OPTIONS if o.in_file} | {"destination"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SettingsError(f"config file {path}: unknown keys {unknown}")
    return data


def _destination_defaults(values: dict[str, Any], from_file: Any) -> DestinationSettings:
    file_settings = DestinationSettings()
    if from_file is not None:
        try:
            config = json_format.ParseDict(from_file, config_pb2.DestinationConfig())
        except json_format.ParseError as error:
            raise SettingsError(f"config file key 'destination': {error}") from None
        try:
            file_settings = settings_from_config(config)
        except InvalidInput as error:
            raise SettingsError(f"config file key 'destination': {error}") from None
    mode = values["nested_properties_mode"]
    overrides = DestinationSettings(
        app_id=values["app_id"] or None,
        region=Region(values["region"]) if values["region"] else None,
        base_url=values["base_url"] or None,
        nested_mode=NestedMode(mode) if mode else None,
        anonymous_id_as_identity=values["anonymous_id_as_identity"],
        native_arrays=values["native_arrays"],
        ack_mode=AckMode(values["ack_mode"]) if values["ack_mode"] else None,
    )
    return overrides.over(file_settings)


def _tokens(tokens_file: str | None, env: Mapping[str, str]) -> TokenStore | None:
    try:
        if tokens_file:
            return read_tokens_file(Path(tokens_file))
        if env.get(TOKENS_ENV):
            return parse_tokens(env[TOKENS_ENV], TOKENS_ENV)
    except ValueError as error:
        raise SettingsError(str(error)) from None
    return None


def _heap_api_key(path: str | None, env: Mapping[str, str]) -> HeapApiKey | None:
    """The key from its file or from HEAP_API_KEY; messages never quote it."""
    from_env = env.get(HEAP_API_KEY_ENV) or None
    if path and from_env:
        raise SettingsError(
            f"Heap's API key is set twice: use --heap-api-key-file ({HEAP_API_KEY_FILE_ENV}) "
            f"or {HEAP_API_KEY_ENV}, not both"
        )
    if path:
        # The path is not quoted either: it may be the key, set in the wrong place.
        where = "--heap-api-key-file"
        try:
            text = Path(path).read_text()
        except (OSError, UnicodeDecodeError) as error:
            problem = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            raise SettingsError(f"{where}: cannot read the file ({problem})") from None
    elif from_env:
        where, text = HEAP_API_KEY_ENV, from_env
    else:
        return None
    key = text.strip()
    if not key:
        raise SettingsError(f"{where}: holds no key")
    if any(c.isspace() or not c.isprintable() for c in key):
        raise SettingsError(f"{where}: the key must be one word, without spaces or line breaks")
    return HeapApiKey(key)


def _tls(values: dict[str, Any]) -> TlsFiles | None:
    cert, key, client_ca = values["tls_cert"], values["tls_key"], values["tls_client_ca"]
    if not cert and not key:
        if client_ca:
            raise SettingsError("--tls-client-ca needs --tls-cert and --tls-key")
        return None
    if not cert or not key:
        raise SettingsError("TLS needs both --tls-cert and --tls-key")
    for name, path in (("--tls-cert", cert), ("--tls-key", key), ("--tls-client-ca", client_ca)):
        if path and not Path(path).is_file():
            raise SettingsError(f"{name} {path}: no such file")
    return TlsFiles(Path(cert), Path(key), Path(client_ca) if client_ca else None)
