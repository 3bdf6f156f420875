"""The heap-destination command: serve, simulate, or run both for local development."""

import argparse
import asyncio
import dataclasses
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heap_destination.app.commands.health import add_health_command
from heap_destination.app.options import CommandParser, SettingsError

if TYPE_CHECKING:
    from heap_destination.app.settings import ServiceSettings

# The other commands' modules (the server, aiohttp, the store, OpenTelemetry) are imported
# when their command runs, so that `health`, which needs none of them, stays light.
LIGHT_COMMANDS = {"health": add_health_command}

DEFAULT_SIMULATOR_LISTEN = "127.0.0.1:8787"
SIMULATOR_ENV = "HEAP_SIMULATOR_LISTEN"
SIMULATOR_API_KEY_ENV = "HEAP_SIMULATOR_API_KEY"
RUN_STORE = "sqlite:data/heap-destination.db"
RUN_HTTP_LISTEN = "127.0.0.1:8790"

log = logging.getLogger("heap_destination")


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    argv = sys.argv[1:] if argv is None else list(argv)
    light = LIGHT_COMMANDS.get(argv[0]) if argv else None
    parser = _light_parser(light) if light is not None else _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.command(args, env))
    except SettingsError as error:  # a bad setting, a busy port: exit 2, as argparse's
        print(f"heap-destination: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a file that cannot be read, a bind that fails
        print(f"heap-destination: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _serve(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from heap_destination.app.settings import service_settings

    return _serve_with(service_settings(args, env))


def _serve_with(settings: "ServiceSettings") -> int:
    from heap_destination.app.logs import configure_logging
    from heap_destination.app.metrics_endpoint import start_metrics_server
    from heap_destination.app.server import serve
    from heap_destination.app.workers import run_workers

    configure_logging(settings.log_format, settings.log_level)
    _log_target(settings)
    if settings.workers > 1:
        return run_workers(settings)
    start_metrics_server(settings.metrics_listen)
    asyncio.run(serve(settings))
    return 0


def _simulate(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from heap_destination.app.logs import configure_logging
    from heap_destination.sim import serve as serve_simulator

    configure_logging("text", "info")
    host, port = _host_port(args.listen or env.get(SIMULATOR_ENV, DEFAULT_SIMULATOR_LISTEN))
    serve_simulator(host, port, api_key=_simulator_api_key(args.api_key_file, env))
    return 0


def _simulator_api_key(path: str | None, env: Mapping[str, str]) -> str | None:
    """The key the simulator's user deletion API takes; never a flag with the key itself."""
    if not path:
        return env.get(SIMULATOR_API_KEY_ENV) or None
    try:
        key = Path(path).read_text().strip()
    except (OSError, UnicodeDecodeError) as error:
        problem = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise SettingsError(f"--api-key-file: cannot read the file ({problem})") from None
    if not key:
        raise SettingsError("--api-key-file: holds no key")
    return key


def _run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """The service, pointed at a local simulator unless a real Heap target is configured,
    with a store in a file under the working directory unless another is configured."""
    from heap_destination.app.logs import configure_logging
    from heap_destination.app.settings import service_settings
    from heap_destination.sim import HeapSimulator

    settings = service_settings(args, env, store_default=RUN_STORE, http_default=RUN_HTTP_LISTEN)
    if settings.defaults.region or settings.defaults.base_url:
        return _serve_with(settings)
    address = args.simulator_listen or env.get(SIMULATOR_ENV, DEFAULT_SIMULATOR_LISTEN)
    api_key = settings.heap_api_key.reveal() if settings.heap_api_key is not None else None
    with HeapSimulator(*_host_port(address), api_key=api_key) as simulator:
        defaults = dataclasses.replace(settings.defaults, base_url=simulator.url)
        settings = dataclasses.replace(settings, defaults=defaults)
        configure_logging(settings.log_format, settings.log_level)
        log.info(
            "Heap simulator listening on %s (see %s/_sim/requests)", simulator.url, simulator.url
        )
        return _serve_with(settings)


def _log_target(settings: "ServiceSettings") -> None:
    defaults = settings.defaults
    region = defaults.region.value if defaults.region else "us"
    log.info(
        "delivering to %s; default app_id %s",
        defaults.base_url or f"Heap ({region})",
        defaults.app_id or "none (requests must set config.app_id)",
    )


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise SettingsError(f"simulator address {address!r}: use host:port")
    return host, int(port)


def _light_parser(add_command: Callable[[Any], None]) -> argparse.ArgumentParser:
    """A parser of one light command alone, as the full parser would parse it."""
    parser = CommandParser(prog="heap-destination")
    add_command(parser.add_subparsers(required=True, metavar="COMMAND"))
    return parser


def _parser() -> argparse.ArgumentParser:
    from heap_destination.app.commands.deletion import add_deletion_commands
    from heap_destination.app.commands.deliveries import add_deliveries_command
    from heap_destination.app.commands.send import add_send_command
    from heap_destination.app.commands.store import add_store_command
    from heap_destination.app.settings import add_service_arguments

    parser = CommandParser(
        prog="heap-destination",
        description="Deliver Track and Identify calls to Heap over gRPC.",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve_parser = commands.add_parser("serve", help="run the gRPC service")
    add_service_arguments(serve_parser)
    serve_parser.set_defaults(command=_serve)

    simulate_parser = commands.add_parser("simulate", help="run the local Heap simulator")
    simulate_parser.add_argument(
        "--listen", help=f"host:port (env {SIMULATOR_ENV}; default {DEFAULT_SIMULATOR_LISTEN})"
    )
    simulate_parser.add_argument(
        "--api-key-file",
        help="file holding the API key the user deletion API checks "
        f"(or the key itself in {SIMULATOR_API_KEY_ENV}; none: deletion is refused)",
    )
    simulate_parser.set_defaults(command=_simulate)

    run_parser = commands.add_parser(
        "run",
        help="run the service against a local Heap simulator (or against Heap when "
        "--region or --base-url is set)",
    )
    add_service_arguments(run_parser)
    run_parser.add_argument(
        "--simulator-listen",
        help=f"simulator host:port (env {SIMULATOR_ENV}; default {DEFAULT_SIMULATOR_LISTEN})",
    )
    run_parser.set_defaults(command=_run)

    add_send_command(commands)
    add_store_command(commands)
    add_deliveries_command(commands)
    add_deletion_commands(commands)
    add_health_command(commands)
    return parser
