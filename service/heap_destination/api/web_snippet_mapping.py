"""RenderWebSnippet: a config's web settings to the Heap browser loader."""

from heap_destination.api.config_mapping import settings_from_config
from heap_destination.domain.destination import DestinationSettings
from heap_destination.domain.web_snippet import render_snippet
from heap_destination.v1 import web_pb2


def render_web_snippet(
    request: web_pb2.RenderWebSnippetRequest, defaults: DestinationSettings
) -> web_pb2.RenderWebSnippetResponse:
    """Raises InvalidInput naming each bad setting."""
    settings = settings_from_config(request.config).over(defaults)
    snippet = render_snippet(settings)
    return web_pb2.RenderWebSnippetResponse(
        html=snippet.html, script_url=snippet.script_url, app_id=snippet.app_id
    )
