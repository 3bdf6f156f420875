# Rejections that may come from some items of a request (a bad event, a body too large),
# so that halves of it may be accepted; others (401, 403, 404) concern the whole app.
_ABOUT_THE_CONTENT = frozenset({400, 413, 422})


class DeliveryError(Exception):
    """Heap did not accept a request."""


class HeapUnavailable(DeliveryError):
    """Heap could not be reached, or kept answering 429/5xx, until time ran out.

    Safe to retry with the same idempotency keys; `retry_after` is Heap's last hint and
    `status` its last HTTP status (None when Heap was not reached). `maybe_received`: an
    attempt was sent and never answered (a timeout, a dropped connection), so Heap may
    have accepted it.
    """

    def __init__(
        self,
        message: str,
        retry_after: float | None = None,
        status: int | None = None,
        *,
        maybe_received: bool = False,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status
        self.maybe_received = maybe_received


class HeapRejected(DeliveryError):
    """Heap answered a 4xx other than 429: the request will never be accepted as it is."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"Heap answered {status}: {body}")
        self.status = status
        self.body = body

    @property
    def about_the_content(self) -> bool:
        """Whether some items of the request may be what Heap rejected (400, 413, 422), so
        that halves of it may be accepted."""
        return self.status in _ABOUT_THE_CONTENT


class RateLimited(DeliveryError):
    """Heap's rate limits would hold the call past its deadline; retry after `retry_after`."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("Heap's rate limits for this app or identity are used up")
        self.retry_after = retry_after


class Overloaded(DeliveryError):
    """The service holds as much unanswered work as it may; retry after `retry_after`."""

    def __init__(
        self, retry_after: float, why: str = "the service is at its bound of events in flight"
    ) -> None:
        super().__init__(why)
        self.retry_after = retry_after


class ShuttingDown(DeliveryError):
    """The service is draining and takes no new events; send them to another replica."""

    def __init__(self) -> None:
        super().__init__("the service is shutting down")


class InternalError(DeliveryError):
    """Delivery failed in a way the service did not expect; retrying is safe."""


class NoRoomInStore(DeliveryError):
    """Ack mode STORED: the store holds as many undelivered events as it may (in all or for
    one app); nothing of the call was stored. Retry after `retry_after`.

    The caller's answer (STORE_FULL), as the store's own StoreFull became it."""

    def __init__(self, why: str, retry_after: float) -> None:
        super().__init__(why)
        self.retry_after = retry_after


class StoreOutOfService(DeliveryError):
    """The store could not serve the call (it cannot be reached, is damaged, or did not
    commit in time); nothing of the call was stored or changed.

    The caller's answer (STORE_UNAVAILABLE), whatever the store raised."""
