"""The web snippet as the service renders it, and a page that holds it, for the tests
that load it (in Node.js's stand-in for a browser, and in Chromium)."""

import grpc

from heap_destination.v1 import config_pb2, service_pb2_grpc, web_pb2
from tests.conftest import APP_ID

TRACKING_SERVER = "https://t.example.com"
LOAD_OPTIONS = {"disableTextCapture": True, "secureCookie": True, "trackingServer": TRACKING_SERVER}
"""The options load_config sets, as heap.load receives them."""


def render(
    target: str, config: config_pb2.DestinationConfig | None = None
) -> web_pb2.RenderWebSnippetResponse:
    with grpc.insecure_channel(target) as channel:
        stub = service_pb2_grpc.HeapDestinationServiceStub(channel)
        response: web_pb2.RenderWebSnippetResponse = stub.RenderWebSnippet(
            web_pb2.RenderWebSnippetRequest(config=config), timeout=10
        )
        return response


def page_with(snippet_html: str) -> str:
    """An HTML page with the snippet in its head."""
    return f"<!DOCTYPE html>\n<html><head>\n{snippet_html}</head><body><p>Hello</p></body></html>\n"


def load_config(
    more: config_pb2.DestinationConfig | None = None,
) -> config_pb2.DestinationConfig:
    """APP_ID's config with every option the snippet hands to heap.load (LOAD_OPTIONS),
    and the fields `more` sets."""
    config = config_pb2.DestinationConfig(
        app_id=APP_ID,
        disable_text_capture=True,
        secure_cookie=True,
        tracking_server=TRACKING_SERVER,
    )
    if more is not None:
        config.MergeFrom(more)
    return config
