"""Getting prepared Heap calls to Heap: HTTP bodies, retries, the Heap HTTP client."""
