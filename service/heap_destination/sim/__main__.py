"""Command line: `python -m heap_destination.sim --port 8089`."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from heap_destination.sim.rate_limits import RateLimits
from heap_destination.sim.server import serve

DEFAULT_PORT = 8089


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m heap_destination.sim",
        description="Serve a local simulator of Heap's server-side API.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--events-per-minute-per-app", type=int)
    parser.add_argument("--events-per-minute-per-identity", type=int)
    parser.add_argument("--requests-per-30s-per-identity", type=int)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(message)s"
    )
    limits = RateLimits(
        events_per_minute_per_app=args.events_per_minute_per_app,
        events_per_minute_per_identity=args.events_per_minute_per_identity,
        requests_per_30s_per_identity=args.requests_per_30s_per_identity,
    )
    serve(args.host, args.port, limits)


if __name__ == "__main__":
    main()
