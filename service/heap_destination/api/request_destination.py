"""The destination of a request: its own config over the stream's over the server's."""

from collections import OrderedDict

from heap_destination.api.caller import ensure_caller_may_use
from heap_destination.api.mapping.config import settings_from_config
from heap_destination.domain.destination import (
    Destination,
    DestinationSettings,
    resolve_destination,
)
from heap_destination.domain.violations import InvalidInput
from heap_destination.v1 import account_pb2, config_pb2, identify_pb2, track_pb2

# Unary calls and a stream whose events carry their own configs (one per app, say) resolve
# each distinct config once: the last this many used, each of at most this many
# serialized bytes, are kept.
_MAX_REMEMBERED_CONFIGS = 64
_MAX_REMEMBERED_CONFIG_BYTES = 1024


class DestinationResolver:
    """Resolves destinations over a base of settings; remembers the base's own result,
    and the resolvers of the small configs requests carried (a stream reuses them).

    `allowed_base_urls` are the normalized base URLs a request may name besides Heap's
    regions (the server's own and the operator's --allowed-base-urls).
    """

    def __init__(
        self,
        base: DestinationSettings | InvalidInput,
        allowed_base_urls: frozenset[str] = frozenset(),
    ) -> None:
        self._base = base
        self._allowed_base_urls = allowed_base_urls
        self._base_result: Destination | InvalidInput | None = None
        self._by_config: OrderedDict[bytes, DestinationResolver] = OrderedDict()

    def with_config(self, config: config_pb2.DestinationConfig) -> "DestinationResolver":
        """A resolver whose base is `config` over this one's base. A bad config does not
        raise here: every request resolved through it is answered with its violations."""
        base: DestinationSettings | InvalidInput = self._base
        if isinstance(self._base, DestinationSettings):
            try:
                base = settings_from_config(config).over(self._base)
            except InvalidInput as error:
                base = error
        return DestinationResolver(base, self._allowed_base_urls)

    def resolve(self, config: config_pb2.DestinationConfig | None) -> Destination:
        """The destination of a request with `config` (None when it has none); raises
        InvalidInput when it cannot be delivered, PermissionDenied when the caller may not
        send to its app_id."""
        if config is not None:
            destination = self._over(config)._resolve_base()
        else:
            destination = self._resolve_base()
        ensure_caller_may_use(destination.app_id)
        return destination

    def _over(self, config: config_pb2.DestinationConfig) -> "DestinationResolver":
        key = config.SerializeToString(deterministic=True)
        resolver = self._by_config.get(key)
        if resolver is not None:
            self._by_config.move_to_end(key)
            return resolver
        resolver = self.with_config(config)
        if len(key) <= _MAX_REMEMBERED_CONFIG_BYTES:
            self._by_config[key] = resolver
            if len(self._by_config) > _MAX_REMEMBERED_CONFIGS:
                self._by_config.popitem(last=False)
        return resolver

    def _resolve_base(self) -> Destination:
        if self._base_result is None:
            try:
                if isinstance(self._base, InvalidInput):
                    raise self._base
                self._base_result = resolve_destination(self._base, self._allowed_base_urls)
            except InvalidInput as error:
                self._base_result = error
        if isinstance(self._base_result, InvalidInput):
            # A new exception each time: re-raising one object grows its traceback.
            raise InvalidInput(self._base_result.violations)
        return self._base_result


def request_config(
    request: track_pb2.TrackEventRequest
    | identify_pb2.IdentifyUserRequest
    | account_pb2.UpdateAccountRequest,
) -> config_pb2.DestinationConfig | None:
    return request.config if request.HasField("config") else None
