"""The destination of a request: its own config over the stream's over the server's."""

from heap_destination.api.caller import ensure_caller_may_use
from heap_destination.api.config_mapping import settings_from_config
from heap_destination.domain.destination import (
    Destination,
    DestinationSettings,
    resolve_destination,
)
from heap_destination.domain.violations import InvalidInput
from heap_destination.v1 import config_pb2, identify_pb2, track_pb2


class DestinationResolver:
    """Resolves destinations over a base of settings; remembers the base's own result."""

    def __init__(self, base: DestinationSettings) -> None:
        self._base = base
        self._base_result: Destination | InvalidInput | None = None

    def with_config(self, config: config_pb2.DestinationConfig) -> "DestinationResolver":
        """A resolver whose base is `config` over this one's base."""
        return DestinationResolver(settings_from_config(config).over(self._base))

    def resolve(self, config: config_pb2.DestinationConfig | None) -> Destination:
        """The destination of a request with `config` (None when it has none); raises
        InvalidInput when it cannot be delivered, PermissionDenied when the caller may not
        send to its app_id."""
        if config is not None:
            destination = resolve_destination(settings_from_config(config).over(self._base))
        else:
            if self._base_result is None:
                try:
                    self._base_result = resolve_destination(self._base)
                except InvalidInput as error:
                    self._base_result = error
            if isinstance(self._base_result, InvalidInput):
                raise self._base_result
            destination = self._base_result
        ensure_caller_may_use(destination.app_id)
        return destination


def request_config(
    request: track_pb2.TrackEventRequest | identify_pb2.IdentifyUserRequest,
) -> config_pb2.DestinationConfig | None:
    return request.config if request.HasField("config") else None
