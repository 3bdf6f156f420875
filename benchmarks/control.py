"""Calls a benchmark makes beside its load: to the simulator's /_sim endpoints and to a
service's metrics, on an aiohttp session."""

from typing import Any

import aiohttp

CONTROL_TIMEOUT = 120.0
"""Seconds for one call; listing 50,000 large events takes a few seconds."""


def control_session() -> aiohttp.ClientSession:
    """Made within the event loop that uses it; close it with `await session.close()`."""
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=CONTROL_TIMEOUT))


async def call(http: aiohttp.ClientSession, method: str, url: str, json: Any = None) -> None:
    """A call whose answer has nothing to read; fails unless it is 2xx."""
    async with http.request(method, url, json=json) as response:
        response.raise_for_status()


async def get_json(http: aiohttp.ClientSession, url: str) -> Any:
    async with http.get(url) as response:
        response.raise_for_status()
        return await response.json()


async def get_text(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(url) as response:
        response.raise_for_status()
        return await response.text()
