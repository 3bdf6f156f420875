"""RenderWebSnippet: a config's web settings to the Heap browser loader."""

from heap_destination.domain.destination import DestinationSettings
from heap_destination.v1 import web_pb2


def render_web_snippet(
    request: web_pb2.RenderWebSnippetRequest, defaults: DestinationSettings
) -> web_pb2.RenderWebSnippetResponse:
    """Raises InvalidInput naming each bad setting."""
    raise NotImplementedError("being written")
