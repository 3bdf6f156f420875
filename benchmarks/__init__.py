"""Throughput and latency benchmarks for the Heap destination service (run: make bench)."""
