"""TLS and mutual TLS through a real server, with certificates the test makes itself."""

import http.client
import shutil
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import grpc
import pytest

from heap_destination.app.cli import main
from heap_destination.app.tls import TlsFiles
from heap_destination.client import HeapDestinationClient
from heap_destination.sim import HeapSimulator
from tests.conftest import APP_ID
from tests.support.certificates import Certificates, make_certificates
from tests.support.simulator_api import tracked_events

if shutil.which("openssl") is None:
    pytest.skip("the openssl command is needed to make test certificates", allow_module_level=True)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certificates"))


def _secure_client(target: str, certs: Certificates, with_client_cert: bool) -> Any:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=certs.ca.read_bytes(),
        private_key=certs.client_key.read_bytes() if with_client_cert else None,
        certificate_chain=certs.client_cert.read_bytes() if with_client_cert else None,
    )
    channel = grpc.secure_channel(target, credentials)
    return HeapDestinationClient(target, app_id=APP_ID, channel=channel, timeout=5)


def test_a_tls_server_accepts_a_client_that_trusts_its_ca_and_refuses_plaintext(
    simulator: HeapSimulator, start_service: Any, certificates: Certificates
) -> None:
    tls = TlsFiles(certificates.server_cert, certificates.server_key)
    service = start_service(base_url=simulator.url, tls=tls)

    with _secure_client(service.target, certificates, with_client_cert=False) as client:
        client.track("Over TLS", user_id="u1")
    with HeapDestinationClient(service.target, app_id=APP_ID, timeout=5) as plaintext:
        with pytest.raises(grpc.RpcError) as raised:
            plaintext.track("In Clear", user_id="u1")

    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    assert [e["event"] for e in tracked_events(simulator.url)] == ["Over TLS"]


def test_with_mtls_a_client_without_a_certificate_is_refused(
    simulator: HeapSimulator, start_service: Any, certificates: Certificates
) -> None:
    tls = TlsFiles(certificates.server_cert, certificates.server_key, certificates.ca)
    service = start_service(base_url=simulator.url, tls=tls)

    with _secure_client(service.target, certificates, with_client_cert=True) as client:
        client.track("With Certificate", user_id="u1")
    with _secure_client(service.target, certificates, with_client_cert=False) as client:
        with pytest.raises(grpc.RpcError) as raised:
            client.track("Without Certificate", user_id="u1")

    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    assert [e["event"] for e in tracked_events(simulator.url)] == ["With Certificate"]


def test_a_missing_certificate_file_is_a_clear_start_up_error(tmp_path: Path) -> None:
    code = main(["serve", "--tls-cert", str(tmp_path / "nope.pem"), "--tls-key", "k.pem"], env={})

    assert code == 2


def _https_post(url: str, certs: Certificates, with_client_cert: bool) -> int:
    context = ssl.create_default_context(cafile=str(certs.ca))
    if with_client_cert:
        context.load_cert_chain(certs.client_cert, certs.client_key)
    parts = urlsplit(url)
    connection = http.client.HTTPSConnection(parts.hostname or "", parts.port, context=context)
    body = b'{"batch": [{"type": "track", "event": "Over HTTPS", "userId": "u1"}]}'
    try:
        connection.request("POST", "/v1/batch", body=body, headers={"authorization": "Basic azo="})
        return connection.getresponse().status
    finally:
        connection.close()


def test_the_http_intake_serves_the_same_tls_and_mtls_as_grpc(
    simulator: HeapSimulator, start_service: Any, certificates: Certificates
) -> None:
    tls = TlsFiles(certificates.server_cert, certificates.server_key, certificates.ca)
    service = start_service(base_url=simulator.url, app_id=APP_ID, tls=tls, http=True)
    https_url = service.http_url.replace("http://", "https://")

    with pytest.raises(OSError):  # refused in the handshake, or right after it (TLS 1.3)
        _https_post(https_url, certificates, with_client_cert=False)
    status = _https_post(https_url, certificates, with_client_cert=True)

    assert status == 200
    assert [e["event"] for e in tracked_events(simulator.url)] == ["Over HTTPS"]
