"""Heap's HTTP API: request bodies, the client and its retries, and the calls a request carries."""
