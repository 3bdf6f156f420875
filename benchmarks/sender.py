"""The Python client's two ways to send many track calls from one process, in the same
run against the same service and simulator: unary `client.track` calls from
SENDER_BENCH_UNARY_THREADS threads (each call waits for its answer), and
`client.sender()` from one thread (each call returns a future at once). Prints calls per
second (first call to last answer) and the CPU each side spends per call: the service
process's, and this client process's. Heap (the simulator) answers every request after
SENDER_BENCH_HEAP_LATENCY_MS, as in `make bench`; rate limits are off.

Run with `make bench` (or `.venv/bin/python -m benchmarks.sender`).
"""

import json
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from benchmarks import processes
from benchmarks.env_numbers import env_number
from benchmarks.payloads import APP_ID, FLATTENING_EXAMPLE
from heap_destination.client import HeapDestinationClient

IDENTITIES = 100


@dataclass(frozen=True)
class Row:
    name: str
    calls: int
    seconds: float
    service_cpu_seconds: float
    client_cpu_seconds: float

    def line(self) -> str:
        return (
            f"{self.name:<34} {self.calls / self.seconds:>9,.0f} calls/s"
            f"  service CPU {self.service_cpu_seconds / self.calls * 1e6:>6,.0f} µs/call"
            f"  client CPU {self.client_cpu_seconds / self.calls * 1e6:>6,.0f} µs/call"
        )


def unary(target: str, calls: int, threads: int) -> None:
    with HeapDestinationClient(target, app_id=APP_ID) as client:
        with ThreadPoolExecutor(threads) as pool:
            answers = [
                pool.submit(
                    client.track,
                    "Signed Up",
                    user_id=f"user-{n % IDENTITIES}",
                    properties=FLATTENING_EXAMPLE,
                )
                for n in range(calls)
            ]
            for answer in answers:
                answer.result()


def batched(target: str, calls: int) -> None:
    with HeapDestinationClient(target, app_id=APP_ID) as client:
        with client.sender() as sender:
            results = [
                sender.track(
                    "Signed Up", user_id=f"user-{n % IDENTITIES}", properties=FLATTENING_EXAMPLE
                )
                for n in range(calls)
            ]
        wait(results)
        for result in results:
            assert result.result().code == 0


def measure(name: str, service_pid: int, calls: int, run: Callable[[], None]) -> Row:
    service_before = processes.usage(service_pid).cpu_seconds
    client_before = time.process_time()
    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    return Row(
        name,
        calls,
        seconds,
        processes.usage(service_pid).cpu_seconds - service_before,
        time.process_time() - client_before,
    )


def inject_latency(heap_url: str, latency_ms: int) -> None:
    """Heap is across the internet: every request to it costs at least a round trip."""
    fault = json.dumps({"latency_ms": latency_ms, "probability": 1.0}).encode()
    request = urllib.request.Request(
        f"{heap_url}/_sim/faults", fault, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


def main() -> int:
    unary_calls = env_number("SENDER_BENCH_UNARY_CALLS", 3_000)
    sender_calls = env_number("SENDER_BENCH_CALLS", 20_000)
    threads = env_number("SENDER_BENCH_UNARY_THREADS", 64)
    latency_ms = env_number("SENDER_BENCH_HEAP_LATENCY_MS", 20, least=0)
    health = str(processes.BIN / "heap-destination")
    with tempfile.TemporaryDirectory(prefix="heap-bench-sender-") as scratch:
        logs = Path(scratch)
        simulate = [health, "simulate", "--listen", "127.0.0.1:0"]
        with processes.child(
            simulate, logs / "sim.log", processes.SIMULATOR_READY, processes.START_TIMEOUT
        ) as sim:
            heap_url = f"http://127.0.0.1:{sim.port}"
            if latency_ms:
                inject_latency(heap_url, latency_ms)
            serve = processes.serve_command(heap_url)
            with processes.child(
                serve, logs / "service.log", processes.SERVICE_READY, processes.START_TIMEOUT
            ) as service:
                target = f"127.0.0.1:{service.port}"
                batched(target, 1_000)  # warm up both ends
                rows = [
                    measure(
                        f"unary track, {threads} threads",
                        service.pid,
                        unary_calls,
                        lambda: unary(target, unary_calls, threads),
                    ),
                    measure(
                        "client.sender(), one thread",
                        service.pid,
                        sender_calls,
                        lambda: batched(target, sender_calls),
                    ),
                ]
    print(f"Python client, the flattening example event, Heap answering after {latency_ms} ms:")
    for row in rows:
        print(row.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
