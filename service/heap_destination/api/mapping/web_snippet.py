"""RenderWebSnippet: a config's web settings to the Heap browser loader."""

from heap_destination.api.mapping.config import enum_value, settings_from_config
from heap_destination.domain.destination import DestinationSettings
from heap_destination.domain.violations import FieldViolation, raise_if_any
from heap_destination.domain.web_snippet import SnippetVersion, render_snippet
from heap_destination.v1 import config_pb2, web_pb2

_VERSIONS = {
    config_pb2.WEB_SNIPPET_VERSION_CURRENT: SnippetVersion.CURRENT,
    config_pb2.WEB_SNIPPET_VERSION_CLASSIC: SnippetVersion.CLASSIC,
}


def render_web_snippet(
    request: web_pb2.RenderWebSnippetRequest, defaults: DestinationSettings
) -> web_pb2.RenderWebSnippetResponse:
    """Raises InvalidInput naming each bad setting."""
    violations: list[FieldViolation] = []
    version = enum_value(_VERSIONS, request.config.web_snippet, "config.web_snippet", violations)
    raise_if_any(violations)
    settings = settings_from_config(request.config).over(defaults)
    snippet = render_snippet(settings, version)
    return web_pb2.RenderWebSnippetResponse(
        html=snippet.html, script_url=snippet.script_url, app_id=snippet.app_id
    )
