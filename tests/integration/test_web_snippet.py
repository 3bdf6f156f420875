"""RenderWebSnippet through a real gRPC server, and the snippet run as a browser would."""

import json
import shutil
import subprocess
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import grpc
import pytest

from heap_destination.client import error_details
from heap_destination.v1 import config_pb2
from tests.conftest import APP_ID
from tests.support.background_service import BackgroundService
from tests.support.web_snippet import LOAD_OPTIONS, load_config, page_with, render

HOST = "heap.example.com"
CURRENT_URL = f"https://cdn.us.heap-api.com/config/{APP_ID}/heap_config.js"
CLASSIC_URL = f"https://cdn.heapanalytics.com/js/heap-{APP_ID}.js"
# run_snippet.js reports heap.appid and heap.config, which Heap's current loader names
# heap.envId and heap.clientConfig: run after the snippet, this reports those instead.
CURRENT_NAMES = "\nwindow.heap.appid=window.heap.envId;window.heap.config=window.heap.clientConfig;"
RUN_SNIPPET = Path(__file__).parents[1] / "support" / "run_snippet.js"


class _ScriptBodies(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self._in_script = True
            self.bodies.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.bodies[-1] += data


def script_bodies(page: str) -> list[str]:
    parser = _ScriptBodies()
    parser.feed(page)
    parser.close()
    return parser.bodies


def run_in_fake_browser(script: str) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        reason = "node is not on PATH: the snippet cannot be run in a JavaScript engine"
        print(reason)
        pytest.skip(reason)
    ran = subprocess.run(
        [node, str(RUN_SNIPPET)], input=script, capture_output=True, text=True, timeout=30
    )
    assert ran.returncode == 0, ran.stderr
    result: dict[str, Any] = json.loads(ran.stdout)
    return result


def test_a_custom_hostname_loads_from_that_host(service: BackgroundService) -> None:
    response = render(service.target, config_pb2.DestinationConfig(app_id=APP_ID, hostname=HOST))

    assert response.script_url == f"https://{HOST}/js/heap-{APP_ID}.js"
    assert response.app_id == APP_ID
    assert f'"https://{HOST}/js/heap-{APP_ID}.js"' in response.html


def test_by_default_the_snippet_loads_heaps_current_config_script(
    service: BackgroundService,
) -> None:
    response = render(service.target, config_pb2.DestinationConfig(app_id=APP_ID))

    assert response.script_url == CURRENT_URL
    assert "window.heapReadyCb" in response.html
    assert f'"{CURRENT_URL}"' in response.html


def test_the_classic_snippet_loads_from_heaps_classic_cdn(service: BackgroundService) -> None:
    config = config_pb2.DestinationConfig(
        app_id=APP_ID, web_snippet=config_pb2.WEB_SNIPPET_VERSION_CLASSIC
    )

    response = render(service.target, config)

    assert response.script_url == CLASSIC_URL
    assert f'r.src="{CLASSIC_URL}"' in response.html


def test_the_current_snippet_with_a_hostname_is_invalid_argument(
    service: BackgroundService,
) -> None:
    config = config_pb2.DestinationConfig(
        app_id=APP_ID, hostname=HOST, web_snippet=config_pb2.WEB_SNIPPET_VERSION_CURRENT
    )

    with pytest.raises(grpc.RpcError) as raised:
        render(service.target, config)

    details = error_details(raised.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert list(details.field_violations) == ["config.web_snippet"]


def test_an_unknown_web_snippet_version_is_invalid_argument(service: BackgroundService) -> None:
    # A number the contract does not define, as a newer client might send.
    unknown = config_pb2.WebSnippetVersion.ValueType(99)
    config = config_pb2.DestinationConfig(app_id=APP_ID, web_snippet=unknown)

    with pytest.raises(grpc.RpcError) as raised:
        render(service.target, config)

    details = error_details(raised.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert list(details.field_violations) == ["config.web_snippet"]


def test_without_a_config_the_server_defaults_apply(
    start_service: Callable[..., BackgroundService],
) -> None:
    service = start_service(app_id=APP_ID, hostname=HOST, secure_cookie=True)

    response = render(service.target)

    assert response.script_url == f"https://{HOST}/js/heap-{APP_ID}.js"
    assert "{secureCookie: true}" in response.html


@pytest.mark.parametrize(
    "hostname",
    [f"https://{HOST}", f"{HOST}/js", f"heap-{APP_ID}.example.com"],
    ids=["scheme", "path", "app id"],
)
def test_a_bad_hostname_is_invalid_argument(service: BackgroundService, hostname: str) -> None:
    config = config_pb2.DestinationConfig(app_id=APP_ID, hostname=hostname)

    with pytest.raises(grpc.RpcError) as raised:
        render(service.target, config)

    details = error_details(raised.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert list(details.field_violations) == ["config.hostname"]


def test_no_app_id_anywhere_is_invalid_argument(service: BackgroundService) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        render(service.target, config_pb2.DestinationConfig(hostname=HOST))

    details = error_details(raised.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "config.app_id" in details.field_violations


def test_the_snippet_in_a_page_loads_heap_with_the_config(
    service: BackgroundService,
) -> None:
    config = load_config(config_pb2.DestinationConfig(hostname=HOST))
    page = page_with(render(service.target, config).html)

    [script] = script_bodies(page)
    loaded = run_in_fake_browser(script)

    assert loaded == {
        "appid": APP_ID,
        "config": LOAD_OPTIONS,
        "src": f"https://{HOST}/js/heap-{APP_ID}.js",
    }


def test_the_current_snippet_in_a_page_loads_heap_with_the_config(
    service: BackgroundService,
) -> None:
    page = page_with(render(service.target, load_config()).html)

    [script] = script_bodies(page)
    loaded = run_in_fake_browser(script + CURRENT_NAMES)

    assert loaded == {
        "appid": APP_ID,
        "config": {**LOAD_OPTIONS, "shouldFetchServerConfig": False},
        "src": CURRENT_URL,
    }
