"""The reload SIGHUP runs (app/reload.py), in process: what is swapped, what is refused,
and what the log says."""

import json
import logging
import shutil
from pathlib import Path

import pytest

from heap_destination.app.reload import Reloader
from heap_destination.app.tls import ServerTls, TlsFiles, check_files
from tests.app.test_settings import settings
from tests.support.certificates import make_certificates

OLD = "old-token-7c1d9e2f4a6b"
NEW = "new-token-3e8a5b0c1d9f"


def _write(path: Path, *entries: dict[str, object]) -> None:
    path.write_text(json.dumps(list(entries)))


def test_a_reload_swaps_the_tokens_in_place_and_counts_the_write_keys(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "tokens.json"
    _write(path, {"token": OLD})
    service = settings(["--tokens-file", str(path), "--app-id", "1"])
    tokens = service.tokens
    assert tokens is not None
    _write(path, {"token": NEW}, {"token": NEW + "x", "app_ids": ["2", "3"]})
    with caplog.at_level(logging.INFO, "heap_destination.app.reload"):
        Reloader(service, None, None).reload()

    assert tokens.caller(OLD) is None
    assert tokens.caller(NEW) is not None
    assert caplog.messages == [
        f"tokens reloaded from {path}: 2 tokens (1 of 2 tokens can serve as write keys)"
    ]


def test_a_bad_tokens_file_is_refused_naming_the_entry_never_the_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "tokens.json"
    _write(path, {"token": OLD})
    service = settings(["--tokens-file", str(path)])
    _write(path, {"token": NEW}, {"token": NEW, "app_ids": "2"})
    with caplog.at_level(logging.INFO, "heap_destination.app.reload"):
        Reloader(service, None, None).reload()

    assert service.tokens is not None and service.tokens.caller(OLD) is not None
    assert caplog.messages == [
        f"tokens not reloaded, the old ones stay in force: tokens file {path}[1].app_ids: "
        "must be a list of strings"
    ]
    assert NEW not in caplog.text


def test_tokens_from_the_environment_are_not_reloaded(caplog: pytest.LogCaptureFixture) -> None:
    service = settings([], {"HEAP_DESTINATION_TOKENS": json.dumps([{"token": OLD}])})
    with caplog.at_level(logging.INFO, "heap_destination.app.reload"):
        Reloader(service, None, None).reload()
    assert service.tokens is not None and service.tokens.caller(OLD) is not None
    assert caplog.messages == ["no tokens file to reload (tokens from the environment, or none)"]


def test_a_certificate_and_key_that_do_not_match_are_refused(tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make test certificates")
    certificates = make_certificates(tmp_path)
    files = TlsFiles(certificates.server_cert, certificates.client_key)
    with pytest.raises(ValueError, match=r"TLS certificate .*server\.pem and key .*client\.key"):
        check_files(files)
    with pytest.raises(ValueError, match=r"TLS client CA .*missing\.pem"):
        check_files(
            TlsFiles(certificates.server_cert, certificates.server_key, tmp_path / "missing.pem")
        )
    served = tmp_path / "served.pem"
    shutil.copy(certificates.server_cert, served)
    tls = ServerTls(TlsFiles(served, certificates.server_key))
    shutil.copy(certificates.client_cert, served)
    with pytest.raises(ValueError, match=r"KEY_VALUES_MISMATCH|key values mismatch"):
        tls.reload()
