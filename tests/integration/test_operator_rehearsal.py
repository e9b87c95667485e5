"""The operator path, rehearsed as the README and `python3 dev/run.py` tell a new operator
to: from an empty emulated vault, store the app's ID and secret, consent, reset, check
health, and read the audit table showing that reset. The steps are dev/rehearsal.py's
(what dev/run.py prints); the `python3 -m ops` ones run in-process with the real sign-in
choice (local mode: the emulators' managed identity), the curl ones go over HTTP to the
local Functions host, and the audit comes back from the Log Analytics emulator, fed by
the host's log handler as in dev/run.py."""

from __future__ import annotations

import io
import logging
import os
import re
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests

from dev.emulators.log_analytics import TraceForwarder
from dev.emulators.samples import SAMPLE_USER_UPN, SECRET_NAME_APP_ID, SECRET_NAME_APP_SECRET
from dev.localhost import LocalFunctionsHost, http_functions
from dev.rehearsal import REHEARSAL_TICKET, Step, operator_environment, steps
from ops.cli import main
from ops.console import Console
from ops.credentials import sign_in_for
from ops.deps import default_deps
from tests.integration.conftest import Harness

README = Path(__file__).resolve().parents[2] / "README.md"
KEY = "rehearsal-function-key"
# Port 8400 (the default redirect) may be taken on a shared machine: any loopback port
# does for the emulated sign-in.
ANY_LOOPBACK_PORT = ("--redirect-uri", "http://localhost:0")
_SIGN_IN_URL = re.compile(r"^https?://\S+/oauth2/v2\.0/authorize\?\S+$", re.MULTILINE)


class OperatorsBrowser(io.StringIO):
    """The consent command's output, read by a person who opens the sign-in URL it prints
    (the emulated sign-in answers with the redirect to the command's listener at once)."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[threading.Thread] = []

    def write(self, text: str) -> int:
        for url in _SIGN_IN_URL.findall(text):
            thread = threading.Thread(target=requests.get, args=(url,), kwargs={"timeout": 10})
            thread.start()
            self.threads.append(thread)
        return super().write(text)


@pytest.fixture
def local_host(harness: Harness, app_functions: list[Any]) -> Iterator[str]:
    host = LocalFunctionsHost(http_functions(app_functions), KEY, port=0, log=None).start()
    forwarder = TraceForwarder(harness.stack.log_analytics)
    logging.getLogger().addHandler(forwarder)
    yield f"http://127.0.0.1:{host.port}/api"
    logging.getLogger().removeHandler(forwarder)
    host.stop()


def run_ops(step: Step, harness: Harness) -> str:
    assert step.ops is not None
    out, err = OperatorsBrowser(), io.StringIO()
    argv = [*step.ops, *ANY_LOOPBACK_PORT] if step.ops[0] == "consent" else list(step.ops)
    harness.monkeypatch.setattr(sys, "stdin", io.StringIO(f"{step.stdin}\n"))
    deps = replace(
        default_deps(),
        console=Console(out, err),
        environ=os.environ,
        azd_environment=dict,
        credential=lambda url: sign_in_for(url, os.environ),
    )
    code = main(argv, deps)
    for thread in out.threads:
        thread.join(timeout=10)
    assert code == 0, f"{step.command()}\n{err.getvalue()}"
    return out.getvalue()


def run_http(step: Step) -> requests.Response:
    assert step.http is not None
    call = step.http
    return requests.request(call.method, call.url, headers=call.headers, data=call.body, timeout=30)


def test_a_new_operator_goes_from_an_empty_vault_to_the_audit_of_their_reset(
    harness: Harness, local_host: str
) -> None:
    stack = harness.stack
    stack.key_vault.reset()
    for name, value in operator_environment(stack).items():
        harness.monkeypatch.setenv(name, value)
    store, consent, reset, health, audit = steps(local_host, KEY)

    stored = run_ops(store, harness)
    assert stack.key_vault.secret_value(SECRET_NAME_APP_ID) is not None
    assert f"stored {SECRET_NAME_APP_SECRET} version" in stored

    consented = run_ops(consent, harness)
    assert "check MFA: passed" in consented
    assert stack.identity.authorization.redeemed == 1

    answer = run_http(reset)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "succeeded"

    checked = run_http(health)
    assert checked.status_code == 200
    assert checked.json()["status"] == "ok"

    table = run_ops(audit, harness)
    _, _, row, footer = table.strip().splitlines()
    assert row.split()[2:8] == [
        "succeeded",
        "200",
        answer.json()["customerTenantId"],
        SAMPLE_USER_UPN,
        REHEARSAL_TICKET,
        "function-key",
    ]
    assert row.split()[-1] == answer.json()["correlationId"]
    assert footer == "1 record, newest first."


def test_the_readme_walks_the_same_steps_in_the_same_order() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Rehearse the operator path locally", 1)[1].split("\n## ", 1)[0]
    plan = steps("http://localhost:7071/api", "$KEY")

    positions = []
    for step in plan:
        if step.ops is not None:
            shown = "python3 -m ops " + " ".join(step.ops)
        else:
            assert step.http is not None
            shown = step.http.url.removeprefix("http://localhost:7071")
        assert shown in section, shown
        positions.append(section.index(shown))
    assert positions == sorted(positions)
    assert "python3 dev/run.py --empty-vault" in section
