"""The service's settings: flags win over environment variables, which win over defaults."""

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, field

from heap_destination.delivery.engine import EngineSettings
from heap_destination.delivery.rate_limiter import RateLimitSettings
from heap_destination.delivery.retry_policy import RetryPolicy
from heap_destination.domain.destination import DestinationSettings, Region, base_url_problem
from heap_destination.domain.nested_mode import NestedMode

DEFAULT_LISTEN = "127.0.0.1:50051"


@dataclass(frozen=True)
class ServiceSettings:
    listen: str
    defaults: DestinationSettings
    retry: RetryPolicy
    grace_period: float
    engine: EngineSettings = field(default_factory=EngineSettings)
    max_in_flight_events: int = 50_000
    max_in_flight_events_per_stream: int = 10_000


class SettingsError(ValueError):
    """A setting that cannot work; the message names it."""


def add_service_arguments(parser: argparse.ArgumentParser, env: Mapping[str, str]) -> None:
    parser.add_argument(
        "--listen",
        default=env.get("HEAP_DESTINATION_LISTEN", DEFAULT_LISTEN),
        help="gRPC listen address, host:port (env HEAP_DESTINATION_LISTEN; "
        f"default {DEFAULT_LISTEN})",
    )
    parser.add_argument(
        "--app-id",
        default=env.get("HEAP_APP_ID"),
        help="default Heap app_id for requests whose config has none (env HEAP_APP_ID)",
    )
    parser.add_argument(
        "--region",
        default=env.get("HEAP_REGION"),
        choices=[r.value for r in Region],
        help="default Heap region: us or eu (env HEAP_REGION; default us)",
    )
    parser.add_argument(
        "--base-url",
        default=env.get("HEAP_BASE_URL"),
        help="default Heap base URL, replacing the region's (env HEAP_BASE_URL)",
    )
    parser.add_argument(
        "--nested-properties-mode",
        default=env.get("HEAP_NESTED_PROPERTIES_MODE"),
        choices=[m.value for m in NestedMode],
        help="default flattening mode (env HEAP_NESTED_PROPERTIES_MODE; default flatten)",
    )
    parser.add_argument(
        "--anonymous-id-as-identity",
        default=env.get("HEAP_ANONYMOUS_ID_AS_IDENTITY"),
        choices=["true", "false"],
        help="use anonymous_id as the identity when there is no user_id "
        "(env HEAP_ANONYMOUS_ID_AS_IDENTITY; default false)",
    )
    parser.add_argument(
        "--delivery-timeout",
        type=float,
        default=float(env.get("HEAP_DELIVERY_TIMEOUT", RetryPolicy.delivery_timeout)),
        help="seconds a call may spend delivering to Heap, retries included, when the "
        "caller's deadline is later or unset (env HEAP_DELIVERY_TIMEOUT; default 30)",
    )
    parser.add_argument(
        "--grace-period",
        type=float,
        default=float(env.get("HEAP_GRACE_PERIOD", "10")),
        help="seconds calls in progress get to finish on shutdown (env HEAP_GRACE_PERIOD)",
    )
    engine = EngineSettings()
    limits = RateLimitSettings()
    for flag, variable, kind, default, text in [
        (
            "--batch-linger",
            "HEAP_BATCH_LINGER",
            float,
            engine.linger,
            "seconds a bulk request waits for more events before it goes out",
        ),
        (
            "--max-in-flight-requests",
            "HEAP_MAX_IN_FLIGHT_REQUESTS",
            int,
            engine.max_in_flight_requests,
            "bulk requests outstanding at once, per destination and endpoint",
        ),
        (
            "--max-in-flight-events",
            "HEAP_MAX_IN_FLIGHT_EVENTS",
            int,
            ServiceSettings.max_in_flight_events,
            "events taken but not yet answered, in all; past it unary calls get "
            "RESOURCE_EXHAUSTED and streams stop reading",
        ),
        (
            "--max-in-flight-events-per-stream",
            "HEAP_MAX_IN_FLIGHT_EVENTS_PER_STREAM",
            int,
            ServiceSettings.max_in_flight_events_per_stream,
            "events one stream may have unanswered before it stops reading",
        ),
        (
            "--rate-limit-per-app",
            "HEAP_RATE_LIMIT_PER_APP",
            int,
            limits.events_per_window_per_app,
            "events per window per app_id (0: no limit)",
        ),
        (
            "--rate-limit-per-identity",
            "HEAP_RATE_LIMIT_PER_IDENTITY",
            int,
            limits.events_per_window_per_identity,
            "events per window per identity within an app_id (0: no limit)",
        ),
        (
            "--rate-limit-window",
            "HEAP_RATE_LIMIT_WINDOW",
            float,
            limits.window_seconds,
            "seconds the rate limits count over",
        ),
    ]:
        parser.add_argument(
            flag,
            type=kind,
            default=kind(env.get(variable, default)),
            help=f"{text} (env {variable}; default {default})",
        )


def service_settings(args: argparse.Namespace) -> ServiceSettings:
    """Validated settings from parsed arguments; raises SettingsError naming the bad one."""
    if args.base_url and (problem := base_url_problem(args.base_url)):
        raise SettingsError(f"--base-url / HEAP_BASE_URL {args.base_url!r}: {problem}")
    for name, value in [
        ("--delivery-timeout / HEAP_DELIVERY_TIMEOUT", args.delivery_timeout),
        ("--rate-limit-window / HEAP_RATE_LIMIT_WINDOW", args.rate_limit_window),
        ("--max-in-flight-requests / HEAP_MAX_IN_FLIGHT_REQUESTS", args.max_in_flight_requests),
        ("--max-in-flight-events / HEAP_MAX_IN_FLIGHT_EVENTS", args.max_in_flight_events),
        (
            "--max-in-flight-events-per-stream / HEAP_MAX_IN_FLIGHT_EVENTS_PER_STREAM",
            args.max_in_flight_events_per_stream,
        ),
    ]:
        if value <= 0:
            raise SettingsError(f"{name} must be positive, not {value}")
    if args.batch_linger < 0 or args.rate_limit_per_app < 0 or args.rate_limit_per_identity < 0:
        raise SettingsError("--batch-linger and the rate limits must not be negative")
    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        raise SettingsError(f"--listen / HEAP_DESTINATION_LISTEN {args.listen!r}: use host:port")
    return ServiceSettings(
        listen=args.listen,
        defaults=DestinationSettings(
            app_id=args.app_id or None,
            region=Region(args.region) if args.region else None,
            base_url=args.base_url or None,
            nested_mode=NestedMode(args.nested_properties_mode)
            if args.nested_properties_mode
            else None,
            anonymous_id_as_identity=args.anonymous_id_as_identity == "true"
            if args.anonymous_id_as_identity
            else None,
        ),
        retry=RetryPolicy(delivery_timeout=args.delivery_timeout),
        grace_period=args.grace_period,
        engine=EngineSettings(
            linger=args.batch_linger,
            max_in_flight_requests=args.max_in_flight_requests,
            rate_limits=RateLimitSettings(
                events_per_window_per_app=args.rate_limit_per_app or None,
                events_per_window_per_identity=args.rate_limit_per_identity or None,
                window_seconds=args.rate_limit_window,
            ),
        ),
        max_in_flight_events=args.max_in_flight_events,
        max_in_flight_events_per_stream=args.max_in_flight_events_per_stream,
    )
