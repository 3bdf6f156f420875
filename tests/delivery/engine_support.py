"""Settings the delivery engine's tests share (their engines come from the make_engine
fixture in conftest.py)."""

from heap_destination.delivery.heap.retry_policy import RetryPolicy
from heap_destination.delivery.limits.rate_limiter import RateLimitSettings

FAST = RetryPolicy(max_attempts=5, initial_backoff=0.01, max_backoff=0.05, attempt_timeout=5.0)
MAX_REQUESTS = 32
NO_RATE_LIMITS = RateLimitSettings(
    events_per_window_per_app=None, events_per_window_per_identity=None
)
ONE_EVENT_PER_APP = RateLimitSettings(
    events_per_window_per_app=1, events_per_window_per_identity=None, window_seconds=60
)
