"""`heap-destination store migrate`: applies the store's schema migrations and exits."""

import argparse
import asyncio
import sys
from collections.abc import Mapping
from typing import Any

from heap_destination.app.options import SettingsError, add_boolean, boolean
from heap_destination.app.store_directory import CREATE_DIRS_FLAG, refuse_missing_directory
from heap_destination.store import StoreFileEmpty, StoreUnavailable, StoreUnusable, open_store
from heap_destination.store.migrations import LATEST_VERSION
from heap_destination.store.opening import URL_FORMS

STORE_ENV = "HEAP_STORE"
STORE_CREATE_ENV = "HEAP_STORE_CREATE"
CREATE_DIRS_ENV = "HEAP_CREATE_DIRS"


def add_store_command(commands: Any) -> None:
    store = commands.add_parser("store", help="manage the durable store of accepted events")
    actions = store.add_subparsers(required=True, metavar="ACTION")
    migrate = actions.add_parser(
        "migrate", help="apply the store's schema migrations (also done at start-up)"
    )
    migrate.add_argument("--store", help=f"{URL_FORMS} (env {STORE_ENV})")
    add_boolean(
        migrate,
        "--store-create",
        "store_create",
        "make a new store in an empty (0-byte) SQLite file instead of refusing it "
        f"(env {STORE_CREATE_ENV}; default false)",
    )
    add_boolean(
        migrate,
        CREATE_DIRS_FLAG,
        "create_dirs",
        "make the missing directories of a SQLite store's path instead of refusing "
        f"(env {CREATE_DIRS_ENV}; default false)",
    )
    migrate.set_defaults(command=_migrate)


def _migrate(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    url = args.store or env.get(STORE_ENV)
    if not url:
        raise SettingsError(f"--store or {STORE_ENV} is required: {URL_FORMS}")
    create_empty = _flag(args.store_create, "--store-create", STORE_CREATE_ENV, env)
    create_dirs = _flag(args.create_dirs, CREATE_DIRS_FLAG, CREATE_DIRS_ENV, env)
    refuse_missing_directory(url, create_dirs=create_dirs)
    try:
        asyncio.run(_open_and_close(url, create_empty=create_empty))
    except StoreFileEmpty as error:
        raise SettingsError(f"{error}; --store-create makes a new store in it") from None
    except StoreUnusable as error:
        raise SettingsError(str(error)) from None
    except ValueError as error:
        raise SettingsError(f"--store: {error}") from None
    except StoreUnavailable as error:
        raise OSError(f"the store cannot be reached: {error}".strip()) from None
    print(f"store schema at version {LATEST_VERSION}", file=sys.stderr)
    return 0


def _flag(flag: str | None, name: str, env_name: str, env: Mapping[str, str]) -> bool:
    source = name if flag is not None else env_name
    text = flag if flag is not None else env.get(env_name)
    if text is None:
        return False
    try:
        return boolean(text)
    except ValueError as error:
        raise SettingsError(f"{source}={text!r}: {error}") from None


async def _open_and_close(url: str, *, create_empty: bool) -> None:
    store = await open_store(url, create_empty=create_empty)
    await store.close()
