"""The rendered web snippet in a real browser: headless Chromium loads a page holding it,
with the script's host resolved to a local stand-in for Heap's CDN.

Skipped, with the reason, where Chromium is not installed (`make client-deps` installs it).
"""

import html
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from heap_destination.v1 import config_pb2, web_pb2
from tests.conftest import APP_ID
from tests.support.background_service import BackgroundService
from tests.support.chromium import chromium_or_skip, dump_dom
from tests.support.heap_cdn_stand_in import OBSERVED_ID, heap_cdn_stand_in
from tests.support.web_snippet import LOAD_OPTIONS, load_config, page_with, render

pytestmark = pytest.mark.slow

OBSERVED = re.compile(rf'<pre id="{OBSERVED_ID}">(.*?)</pre>', re.DOTALL)


def load_in_chromium(snippet: web_pb2.RenderWebSnippetResponse, folder: Path) -> dict[str, Any]:
    """Serves a page with the snippet, loads it in Chromium, and returns the requests the
    stand-in CDN saw and what the stand-in script found heap.load had received."""
    chromium = chromium_or_skip()
    script_host = urlsplit(snippet.script_url).netloc
    with heap_cdn_stand_in(folder) as cdn:
        cdn.page = page_with(snippet.html)
        dom = dump_dom(
            chromium, cdn.page_url, folder / "profile", resolve={script_host: cdn.address}
        )
        requests = [f"https://{host}{path}" for host, path in cdn.script_requests]
    found = OBSERVED.search(dom)
    assert found, f"the stand-in script did not run; script requests {requests}; DOM:\n{dom}"
    return {"requested": requests, "heap": json.loads(html.unescape(found[1]))}


@pytest.mark.parametrize(
    ("snippet_config", "script_url"),
    [
        (
            config_pb2.DestinationConfig(hostname="heap.example.com"),
            f"https://heap.example.com/js/heap-{APP_ID}.js",
        ),
        (
            config_pb2.DestinationConfig(web_snippet=config_pb2.WEB_SNIPPET_VERSION_CLASSIC),
            f"https://cdn.heapanalytics.com/js/heap-{APP_ID}.js",
        ),
    ],
    ids=["custom hostname", "classic CDN"],
)
def test_the_classic_snippet_in_chromium_fetches_its_script_and_loads_heap_with_the_config(
    service: BackgroundService,
    tmp_path: Path,
    snippet_config: config_pb2.DestinationConfig,
    script_url: str,
) -> None:
    snippet = render(service.target, load_config(snippet_config))

    loaded = load_in_chromium(snippet, tmp_path)

    assert snippet.script_url == script_url
    assert loaded == {"requested": [script_url], "heap": {"appid": APP_ID, "config": LOAD_OPTIONS}}


def test_the_current_snippet_in_chromium_fetches_heaps_config_script_with_the_config(
    service: BackgroundService, tmp_path: Path
) -> None:
    snippet = render(service.target, load_config())

    loaded = load_in_chromium(snippet, tmp_path)

    script_url = f"https://cdn.us.heap-api.com/config/{APP_ID}/heap_config.js"
    assert snippet.script_url == script_url
    assert loaded == {
        "requested": [script_url],
        "heap": {
            "envId": APP_ID,
            "clientConfig": {**LOAD_OPTIONS, "shouldFetchServerConfig": False},
        },
    }
