from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

from heap_destination.app.settings import ServiceSettings
from heap_destination.app.tls import TlsFiles
from heap_destination.app.tokens import TokenStore
from heap_destination.client import HeapDestinationClient
from heap_destination.delivery.deletion.api_key import HeapApiKey
from heap_destination.delivery.engine import EngineSettings
from heap_destination.delivery.heap.retry_policy import RetryPolicy
from heap_destination.domain.ack_mode import AckMode
from heap_destination.domain.destination import DestinationSettings
from heap_destination.durable.delivery import StoredDeliverySettings
from heap_destination.sim import HeapSimulator
from tests.support.background_service import BackgroundService

APP_ID = "1234567890"
FAST_RETRIES = RetryPolicy(initial_backoff=0.01, max_backoff=0.05, delivery_timeout=10.0)
FAST_STORED_DELIVERY = StoredDeliverySettings(idle_poll=0.05, initial_backoff=0.05, max_backoff=0.5)


@pytest.fixture
def simulator() -> Iterator[HeapSimulator]:
    with HeapSimulator("127.0.0.1", 0) as running:
        yield running


@pytest.fixture
def start_service() -> Iterator[Callable[..., BackgroundService]]:
    """Starts a real service on a free port with the given default destination settings."""
    started: list[BackgroundService] = []

    def start(
        retry: RetryPolicy = FAST_RETRIES,
        engine: EngineSettings | None = None,
        max_in_flight_events: int = 50_000,
        tokens: TokenStore | None = None,
        tls: TlsFiles | None = None,
        extra_base_urls: frozenset[str] = frozenset(),
        max_concurrent_calls: int = 200,
        max_message_bytes: int = 4 * 1024 * 1024,
        store_url: str | None = None,
        stored_delivery: StoredDeliverySettings = FAST_STORED_DELIVERY,
        max_stored_events: int = 1_000_000,
        max_stored_events_per_app: int = 250_000,
        heap_api_key: str | None = None,
        tracing: TracerProvider | None = None,
        http: bool = False,
        http_ack_mode: AckMode | None = None,
        **defaults: Any,
    ) -> BackgroundService:
        """With `http`, the Segment-compatible HTTP intake listens too (see http_url)."""
        settings = ServiceSettings(
            listen="127.0.0.1:0",
            defaults=DestinationSettings(**defaults),
            retry=retry,
            grace_period=0,
            engine=engine or EngineSettings(),
            max_in_flight_events=max_in_flight_events,
            tokens=tokens,
            tls=tls,
            extra_base_urls=extra_base_urls,
            max_concurrent_calls=max_concurrent_calls,
            max_message_bytes=max_message_bytes,
            store_url=store_url,
            stored_delivery=stored_delivery,
            max_stored_events=max_stored_events,
            max_stored_events_per_app=max_stored_events_per_app,
            heap_api_key=HeapApiKey(heap_api_key) if heap_api_key is not None else None,
            http_listen="127.0.0.1:0" if http else None,
            http_ack_mode=http_ack_mode,
        )
        service = BackgroundService(settings, tracing).start()
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


@pytest.fixture
def service(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService]
) -> BackgroundService:
    """A service pointed at the simulator, with no default app_id."""
    return start_service(base_url=simulator.url)


@pytest.fixture
def client(service: BackgroundService) -> Iterator[HeapDestinationClient]:
    with HeapDestinationClient(service.target, app_id=APP_ID, timeout=10) as running:
        yield running
