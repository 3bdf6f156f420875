"""SIGHUP to a running service process: the tokens file and the TLS certificate and key
are read again; a file that cannot be used is refused and the one in force stays."""

import base64
import json
import os
import shutil
import signal
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from heap_destination.client import HeapDestinationClient
from tests.support import http_client
from tests.support.certificates import Certificates, make_certificates
from tests.support.processes import Process, free_address, start_service
from tests.support.wait import wait_until

APP_ID = "1234567890"
OLD = "old-token-7c1d9e2f4a6b"
NEW = "new-token-3e8a5b0c1d9f"
SHARED = "shared-token-9f2e4d6c8a"


def _tokens(path: Path, *tokens: str) -> None:
    path.write_text(json.dumps([{"token": token, "name": token[:3]} for token in tokens]))


def _code(target: str, token: str) -> grpc.StatusCode:
    """The code of one Track call on a new connection."""
    with HeapDestinationClient(target, app_id=APP_ID, token=token, timeout=10) as client:
        try:
            client.track("Paid", user_id="u1")
        except grpc.RpcError as error:
            return error.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def _serving(simulator: str, *flags: str, workers: int = 1) -> Process:
    """The service, once each of its workers serves (and so takes SIGHUP)."""
    service = start_service(free_address(), simulator, *flags, "--workers", str(workers))
    _reloaded(service, "service listening on", workers)
    return service


def _stop(service: Process) -> None:
    service.terminate()
    service.wait(timeout=30)
    service.stop()


def _reloaded(service: Process, text: str, count: int) -> None:
    """Waits for the `count`th log line holding `text`."""
    wait_until(lambda: sum(text in line for line in service.lines) >= count, timeout=15)


def _write_key_status(http_address: str, key: str) -> int:
    """The HTTP intake's answer to a batch sent with `key` as the Segment write key."""
    items = [{"type": "track", "event": "E", "userId": "u", "messageId": key[:3]}]
    answer = http_client.post(
        f"http://{http_address}/v1/batch",
        content=json.dumps({"batch": items}).encode(),
        headers={"authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()},
    )
    return answer.status_code


class _Calls:
    """Track calls one after another on one connection, with a token both files hold."""

    def __init__(self, target: str) -> None:
        self.done = 0
        self.failures: list[grpc.StatusCode] = []
        self._stopping = threading.Event()
        self._client = HeapDestinationClient(target, app_id=APP_ID, token=SHARED, timeout=10)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._client.track("Streamed", user_id="u2")
            except grpc.RpcError as error:
                self.failures.append(error.code())
            self.done += 1

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=30)
        self._client.close()


@pytest.fixture
def tokens_file(tmp_path: Path) -> Path:
    path = tmp_path / "tokens.json"
    _tokens(path, OLD, SHARED)
    return path


@pytest.mark.parametrize("workers", [1, 2])
def test_sighup_swaps_the_tokens_without_dropping_a_call(
    simulator: str, tokens_file: Path, workers: int
) -> None:
    http_address = free_address()
    service = _serving(
        simulator,
        "--tokens-file",
        str(tokens_file),
        "--app-id",
        APP_ID,
        "--http-listen",
        http_address,
        workers=workers,
    )
    calls = None
    try:
        target = service.address()
        assert _write_key_status(http_address, OLD) == 200
        assert _code(target, OLD) == grpc.StatusCode.OK
        assert _code(target, NEW) == grpc.StatusCode.UNAUTHENTICATED
        calls = _Calls(target)
        wait_until(lambda: calls.done >= 5, timeout=15)

        _tokens(tokens_file, NEW, SHARED)
        os.kill(service.pid, signal.SIGHUP)
        _reloaded(service, "tokens reloaded from", workers)
        done_at_reload = calls.done
        wait_until(lambda: calls.done >= done_at_reload + 5, timeout=15)

        for _ in range(2 * workers):  # new connections, spread over the workers
            assert _code(target, OLD) == grpc.StatusCode.UNAUTHENTICATED
            assert _code(target, NEW) == grpc.StatusCode.OK
            assert _write_key_status(http_address, OLD) == 401
            assert _write_key_status(http_address, NEW) == 200
        calls.stop()
        assert calls.failures == []
        assert all(OLD not in line and NEW not in line for line in service.lines)
    finally:
        if calls is not None:
            calls.stop()
        _stop(service)


@pytest.mark.parametrize(
    "broken",
    ['[{"token": ', "[]", json.dumps([{"token": "short"}]), None],
    ids=["not JSON", "empty", "short token", "missing"],
)
def test_a_broken_tokens_file_is_refused_and_the_old_tokens_stay(
    simulator: str, tokens_file: Path, broken: str | None
) -> None:
    service = _serving(simulator, "--tokens-file", str(tokens_file))
    try:
        target = service.address()
        if broken is None:
            tokens_file.unlink()
        else:
            tokens_file.write_text(broken)
        os.kill(service.pid, signal.SIGHUP)
        _reloaded(service, "tokens not reloaded", 1)
        refusal = next(line for line in service.lines if "tokens not reloaded" in line)
        assert str(tokens_file) in refusal
        assert _code(target, OLD) == grpc.StatusCode.OK
        assert _code(target, NEW) == grpc.StatusCode.UNAUTHENTICATED
    finally:
        _stop(service)


@pytest.fixture(scope="module")
def two_cas(tmp_path_factory: pytest.TempPathFactory) -> tuple[Certificates, Certificates]:
    """Two certificate sets of two different CAs."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make test certificates")
    return (
        make_certificates(tmp_path_factory.mktemp("first")),
        make_certificates(tmp_path_factory.mktemp("second")),
    )


def _serves_health(target: str, ca: Path) -> bool:
    """Whether a new connection trusting only `ca` gets a health answer."""
    channel = grpc.secure_channel(
        target,
        grpc.ssl_channel_credentials(ca.read_bytes()),
        options=[("grpc.use_local_subchannel_pool", 1)],
    )
    with channel:
        try:
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        except grpc.RpcError:
            return False
    return True


def _http_certificate(address: str) -> bytes:
    """The certificate the HTTP intake presents to a new connection (DER)."""
    host, _, port = address.rpartition(":")
    return ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate((host, int(port)), timeout=10))


def _der(pem: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem.read_text())


@pytest.fixture
def served_tls(tmp_path: Path, two_cas: tuple[Certificates, Certificates]) -> Iterator[Path]:
    """The folder of the files the service is started with: the first set's cert and key."""
    first, _ = two_cas
    shutil.copy(first.server_cert, tmp_path / "server.pem")
    shutil.copy(first.server_key, tmp_path / "server.key")
    yield tmp_path


def _serving_tls(simulator: str, served_tls: Path, *extra: str, workers: int = 1) -> Process:
    """A service serving the certificate and key in `served_tls` (server.pem, server.key)."""
    cert, key = served_tls / "server.pem", served_tls / "server.key"
    return _serving(
        simulator, "--tls-cert", str(cert), "--tls-key", str(key), *extra, workers=workers
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_sighup_serves_a_new_certificate_to_new_connections(
    simulator: str, served_tls: Path, two_cas: tuple[Certificates, Certificates], workers: int
) -> None:
    first, second = two_cas
    http_address = free_address()
    service = _serving_tls(simulator, served_tls, "--http-listen", http_address, workers=workers)
    try:
        target = service.address()
        assert _serves_health(target, first.ca)
        assert not _serves_health(target, second.ca)
        assert _http_certificate(http_address) == _der(first.server_cert)

        shutil.copy(second.server_cert, served_tls / "server.pem")
        shutil.copy(second.server_key, served_tls / "server.key")
        os.kill(service.pid, signal.SIGHUP)
        _reloaded(service, "TLS certificate reloaded", workers)

        for _ in range(2 * workers):
            assert _serves_health(target, second.ca)
            assert not _serves_health(target, first.ca)
            assert _http_certificate(http_address) == _der(second.server_cert)
    finally:
        _stop(service)


def test_a_certificate_that_does_not_match_its_key_is_refused_and_the_old_one_stays(
    simulator: str, served_tls: Path, two_cas: tuple[Certificates, Certificates]
) -> None:
    first, second = two_cas
    service = _serving_tls(simulator, served_tls)
    try:
        target = service.address()
        shutil.copy(second.server_cert, served_tls / "server.pem")  # the key stays the first's
        os.kill(service.pid, signal.SIGHUP)
        _reloaded(service, "TLS certificate not reloaded", 1)
        assert _serves_health(target, first.ca)
        assert not _serves_health(target, second.ca)
    finally:
        _stop(service)
