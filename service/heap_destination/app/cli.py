"""The heap-destination command: serve, simulate, or run both for local development."""

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Mapping, Sequence

from heap_destination.app.server import serve
from heap_destination.app.settings import (
    ServiceSettings,
    SettingsError,
    add_service_arguments,
    service_settings,
)
from heap_destination.sim import HeapSimulator
from heap_destination.sim import serve as serve_simulator

DEFAULT_SIMULATOR_LISTEN = "127.0.0.1:8787"

log = logging.getLogger("heap_destination")


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    args = _parser(env).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        return int(args.command(args))
    except SettingsError as error:
        print(f"heap-destination: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _serve(args: argparse.Namespace) -> int:
    settings = service_settings(args)
    _log_target(settings)
    asyncio.run(serve(settings))
    return 0


def _simulate(args: argparse.Namespace) -> int:
    host, port = _host_port(args.simulator_listen, "--listen")
    serve_simulator(host, port)
    return 0


def _run(args: argparse.Namespace) -> int:
    """The service, pointed at a local simulator unless a real Heap target is configured."""
    if args.region or args.base_url:
        return _serve(args)
    host, port = _host_port(args.simulator_listen, "--simulator-listen")
    with HeapSimulator(host, port) as simulator:
        log.info(
            "Heap simulator listening on %s (requests: %s/_sim/requests)",
            simulator.url,
            simulator.url,
        )
        args.base_url = simulator.url
        return _serve(args)


def _log_target(settings: ServiceSettings) -> None:
    defaults = settings.defaults
    target = defaults.base_url or f"Heap {(defaults.region.value if defaults.region else 'us')}"
    log.info(
        "delivering to %s; default app_id %s",
        target,
        defaults.app_id or "(none: requests must set config.app_id)",
    )


def _host_port(address: str, flag: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise SettingsError(f"{flag} {address!r}: use host:port")
    return host, int(port)


def _parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="heap-destination",
        description="Deliver Track and Identify calls to Heap over gRPC.",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve_parser = commands.add_parser("serve", help="run the gRPC service")
    add_service_arguments(serve_parser, env)
    serve_parser.set_defaults(command=_serve)

    simulate_parser = commands.add_parser("simulate", help="run the local Heap simulator")
    simulate_parser.add_argument(
        "--listen",
        dest="simulator_listen",
        default=env.get("HEAP_SIMULATOR_LISTEN", DEFAULT_SIMULATOR_LISTEN),
        help=f"host:port (env HEAP_SIMULATOR_LISTEN; default {DEFAULT_SIMULATOR_LISTEN})",
    )
    simulate_parser.set_defaults(command=_simulate)

    run_parser = commands.add_parser(
        "run",
        help="run the service against a local Heap simulator (or against Heap when "
        "--region or --base-url is set)",
    )
    add_service_arguments(run_parser, env)
    run_parser.add_argument(
        "--simulator-listen",
        default=env.get("HEAP_SIMULATOR_LISTEN", DEFAULT_SIMULATOR_LISTEN),
        help=f"simulator host:port (env HEAP_SIMULATOR_LISTEN; default {DEFAULT_SIMULATOR_LISTEN})",
    )
    run_parser.set_defaults(command=_run)
    return parser
