"""The curl examples of docs/segment.md, run against a live service: each ```sh block gets
the answer the ```json block after it shows, and Heap (the simulator) then holds what the
page says it does.

The page's commands name `make run`'s intake, http://127.0.0.1:8790; the test runs them
against a service on a free port instead, with a store (so in the intake's default ack
mode, STORED) as `make run` has.
"""

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import APP_ID
from tests.support.background_service import BackgroundService
from tests.support.durable import deliveries
from tests.support.simulator_api import account_updates, tracked_events, user_property_updates
from tests.support.wait import wait_until

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "segment.md"
DOCUMENTED_URL = "http://127.0.0.1:8790"
FENCED = re.compile(r"^```(?P<language>\w*)\n(?P<text>.*?)^```$", re.M | re.S)


def examples() -> list[tuple[str, Any]]:
    """Each shell example of the page with the answer it shows: every ```sh block is
    followed by a ```json block."""
    blocks = [(m["language"], m["text"]) for m in FENCED.finditer(PAGE.read_text())]
    found = []
    for (language, text), after in zip(blocks, [*blocks[1:], ("", "")], strict=True):
        if language == "sh":
            assert after[0] == "json", f"docs/segment.md: no ```json answer after\n{text}"
            found.append((text, json.loads(after[1])))
    assert len(found) >= 4, f"docs/segment.md has {len(found)} curl examples"
    return found


def test_every_curl_example_gets_its_documented_answer_and_reaches_heap(
    simulator: str, start_service: Callable[..., BackgroundService], tmp_path: Path
) -> None:
    missing = [tool for tool in ("curl", "gzip", "sh") if shutil.which(tool) is None]
    if missing:
        reason = f"{' and '.join(missing)} not on PATH: the docs/segment.md examples need them"
        print(reason)
        pytest.skip(reason)
    service = start_service(
        http=True, store_url=f"sqlite:{tmp_path / 'store.db'}", base_url=simulator, app_id=APP_ID
    )

    for command, answer in examples():
        assert DOCUMENTED_URL in command, command
        run = subprocess.run(
            ["sh", "-c", command.replace(DOCUMENTED_URL, service.http_url)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert run.returncode == 0, f"{command}\nexited {run.returncode}: {run.stderr}"
        assert json.loads(run.stdout) == answer, f"{command}\nanswered {run.stdout}"

    def events() -> dict[str, dict[str, Any]]:
        return {event["idempotency_key"]: event for event in tracked_events(simulator)}

    wait_until(
        lambda: (
            {"docs-batch-1", "docs-track-1", "docs-gzip-1", "docs-mixed-5"} <= set(events())
            and len(user_property_updates(simulator)) >= 2
            and len(account_updates(simulator)) >= 1
        ),
        timeout=30,
        interval=0.1,
    )
    held = events()
    assert (held["docs-batch-1"]["event"], held["docs-batch-1"]["properties"]) == (
        "Signed Up",
        {"foo.bar.cheese": "american", "foo.bar.prop": "[1,2,3]"},
    )
    assert (held["docs-track-1"]["event"], held["docs-track-1"]["properties"]) == (
        "Plan Changed",
        {"plan.from": "free", "plan.to": "pro"},
    )
    assert (held["docs-gzip-1"]["event"], held["docs-gzip-1"]["properties"]) == (
        "Page viewed",
        {"name": "Pricing", "path": "/pricing"},
    )
    assert (held["docs-mixed-5"]["event"], held["docs-mixed-5"].get("properties")) == (
        "Good One",
        {},
    )
    # the alias, the item kept from Heap, the anonymous one and the invalid one are not sent
    assert sorted(held) == ["docs-batch-1", "docs-gzip-1", "docs-mixed-5", "docs-track-1"]
    assert {event["identity"] for event in held.values()} == {"user-42"}
    users = [user["properties"] for user in user_property_updates(simulator)]
    assert sorted(users, key=len) == [
        {"email": "ada@example.com"},
        {"plan": "pro", "address.city": "Zürich"},
    ]
    assert [(a["account_id"], a["properties"]) for a in account_updates(simulator)] == [
        ("acme", {"plan": "enterprise", "seats": 40})
    ]
    letters = deliveries(service.target, "dead-letters", "--message-id", "docs-mixed-4")
    [letter] = letters["dead_letters"]
    assert letter["last_error"] == (
        "invalid Segment item: properties: must be an object, not a string"
    )
