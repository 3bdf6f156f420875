"""Headless Chromium (Debian's `chromium`) loading one page and printing its DOM."""

import contextlib
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

HINT = "run `make client-deps` (clients/install-chromium.sh) as root to install it"


def chromium_or_skip() -> str:
    """The chromium command; skips the test, printing why, when it is not installed."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        reason = f"chromium is not on PATH: {HINT}"
        print(reason)
        pytest.skip(reason)
    return found


def dump_dom(
    chromium: str, url: str, profile: Path, resolve: dict[str, str], timeout: float = 60
) -> str:
    """The DOM of `url` once its load event has fired (async scripts included).

    `resolve` maps host names to a host:port that Chromium connects to instead; every other
    name fails to resolve, so nothing leaves the machine. Certificates are not checked: the
    stand-ins serve a throwaway one for names that are not theirs.
    """
    rules = [f"MAP {host} {address}" for host, address in resolve.items()]
    rules += ["MAP * ~NOTFOUND", "EXCLUDE 127.0.0.1"]
    args = [
        chromium,
        "--headless",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--ignore-certificate-errors",
        f"--user-data-dir={profile}",
        f"--host-resolver-rules={', '.join(rules)}",
        "--dump-dom",
        url,
    ]
    if os.geteuid() == 0:
        args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
    # A session of its own, so that its helper processes (zygote, crash handler) end with it.
    browser = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = browser.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_session(browser.pid)
        out, err = browser.communicate()
        raise AssertionError(
            f"chromium did not finish within {timeout} s:\n{err[-3000:]}"
        ) from None
    finally:
        _kill_session(browser.pid)
    assert browser.returncode == 0, f"chromium exited {browser.returncode}:\n{err[-3000:]}"
    return out


def _kill_session(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
