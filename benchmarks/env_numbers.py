"""Benchmark sizes from environment variables."""

import os


def env_number(name: str, default: int, least: int = 1) -> int:
    """The whole number in `name` (or `default`); exits naming the variable otherwise."""
    text = os.environ.get(name, str(default))
    if not text.isdigit() or int(text) < least:
        raise SystemExit(f"{name} must be a whole number of at least {least}, not {text!r}")
    return int(text)
