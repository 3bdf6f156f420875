"""`heap-destination store migrate`: applies the store's schema migrations and exits."""

import argparse
import asyncio
import sys
from collections.abc import Mapping
from typing import Any

import psycopg

from heap_destination.app.options import SettingsError
from heap_destination.store import open_store
from heap_destination.store.migrations import LATEST_VERSION
from heap_destination.store.opening import URL_FORMS

STORE_ENV = "HEAP_STORE"


def add_store_command(commands: Any) -> None:
    store = commands.add_parser("store", help="manage the durable store of accepted events")
    actions = store.add_subparsers(required=True, metavar="ACTION")
    migrate = actions.add_parser(
        "migrate", help="apply the store's schema migrations (also done at start-up)"
    )
    migrate.add_argument("--store", help=f"{URL_FORMS} (env {STORE_ENV})")
    migrate.set_defaults(command=_migrate)


def _migrate(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    url = args.store or env.get(STORE_ENV)
    if not url:
        raise SettingsError(f"--store or {STORE_ENV} is required: {URL_FORMS}")
    try:
        asyncio.run(_open_and_close(url))
    except ValueError as error:
        raise SettingsError(f"--store: {error}") from None
    except psycopg.Error as error:
        raise OSError(f"the store cannot be reached: {error}".strip()) from None
    print(f"store schema at version {LATEST_VERSION}", file=sys.stderr)
    return 0


async def _open_and_close(url: str) -> None:
    store = await open_store(url)
    await store.close()
