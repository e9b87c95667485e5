"""The batch a new user runs against `python3 dev/run.py`: the curl it prints, sent over
HTTP to the local host stand-in, while the local queue host polls `reset-batch` on
Azurite in its own thread as the Functions host would. The status goes from running to
completed, and each link opens, over HTTP as dev/link_client.py opens it, the password
Partner Center's emulator received."""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.request import Request, urlopen

import pytest

from dev.emulators.samples import (
    SAMPLE_ADMIN_USER_ID,
    SAMPLE_CUSTOM_DOMAIN_USER_ID,
    SAMPLE_CUSTOMER_ID,
    SAMPLE_USER_ID,
)
from dev.link_client import open_link
from dev.localhost import LocalFunctionsHost, http_functions
from dev.run import batch_curls
from tests.integration.batches.conftest import BatchHarness

KEY = "local-run-batch-key"
# Each Partner Center answer takes this long, so the batch is seen running first.
LATENCY_SECONDS = 0.2
WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class Curl:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None


def printed_curls(text: str) -> list[Curl]:
    """Each curl command in dev/run.py's text, read as a shell would read it."""
    joined = text.replace("\\\n", " ")
    found = []
    for line in joined.splitlines():
        words = shlex.split(line.strip()) if line.strip().startswith("curl ") else []
        if not words:
            continue
        method, url, headers, body = "GET", "", {}, None
        pairs = iter(words[1:])
        for word in pairs:
            if word == "-X":
                method = next(pairs)
            elif word == "-H":
                name, _, value = next(pairs).partition(": ")
                headers[name] = value
            elif word == "-d":
                body = next(pairs).encode()
            elif not word.startswith("-"):
                url = word
        found.append(Curl(method, url, headers, body))
    return found


def send(curl: Curl) -> dict[str, Any]:
    request = Request(curl.url, data=curl.body, headers=curl.headers, method=curl.method)  # noqa: S310
    with urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback only
        value = json.loads(answer.read())
    assert isinstance(value, dict)
    return value


@pytest.fixture
def served(wired: BatchHarness, app_functions: list[Any]) -> Iterator[LocalFunctionsHost]:
    """dev/run.py's two hosts: HTTP on a port of its own, the queue polled in a thread."""
    host = LocalFunctionsHost(http_functions(app_functions), KEY, log=None)
    with host.start() as running:
        wired.harness.configure(PUBLIC_BASE_URL=running.url)
        wired.harness.stack.partner_center.latency = LATENCY_SECONDS
        queue_host = wired.host().start()
        try:
            yield running
        finally:
            queue_host.stop()


def test_the_printed_batch_goes_from_running_to_completed_and_its_links_open(
    wired: BatchHarness, served: LocalFunctionsHost
) -> None:
    submit, status = printed_curls(batch_curls(f"{served.url}/api", KEY))
    accepted = send(submit)
    status_url = status.url.replace("<batchId>", accepted["batchId"])
    assert accepted["statusUrl"] == status_url

    seen = [send(Curl("GET", status_url, status.headers, None))]
    deadline = time.monotonic() + WAIT_SECONDS
    while seen[-1]["status"] != "completed" and time.monotonic() < deadline:
        time.sleep(0.1)
        seen.append(send(Curl("GET", status_url, status.headers, None)))

    assert (seen[0]["status"], seen[-1]["status"]) == ("running", "completed")
    done = seen[-1]
    assert (done["succeeded"], done["failed"], done["pending"]) == (2, 1, 0)
    assert [(item["userId"], item["status"], item["code"]) for item in done["items"]] == [
        (SAMPLE_USER_ID, "succeeded", None),
        (SAMPLE_CUSTOM_DOMAIN_USER_ID, "succeeded", None),
        (SAMPLE_ADMIN_USER_ID, "failed", "protected_user"),
    ]
    partner_center = wired.harness.stack.partner_center
    for user_id, item in zip(
        (SAMPLE_USER_ID, SAMPLE_CUSTOM_DOMAIN_USER_ID), accepted["items"][:2], strict=True
    ):
        opened = open_link(item["secretLink"]["url"])
        assert opened == partner_center.current_password(SAMPLE_CUSTOMER_ID, user_id)
        wired.harness.extra_secrets.append(opened)
