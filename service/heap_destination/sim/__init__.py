"""A local HTTP simulator of Heap's server-side API, for tests and local runs."""

from heap_destination.sim.rate_limits import RateLimits
from heap_destination.sim.server import HeapSimulator, serve

__all__ = ["HeapSimulator", "RateLimits", "serve"]
