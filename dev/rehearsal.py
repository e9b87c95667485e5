"""The operator path, rehearsed against the emulators of `python3 dev/run.py`.

From an empty emulated vault to an audit table showing the reset just made: store the
app's ID and secret, consent, reset, check health, read the audit. dev/run.py prints these
steps with the values of the running emulators, the README walks through them, and
tests/integration/test_operator_rehearsal.py runs them: one list, so what is printed is
what is tested.

The operator commands run in local mode here (ops/credentials.py): every service is on
127.0.0.1, so they take the emulators' managed identity, never the operator's sign-in.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from dev.emulators.samples import (
    SAMPLE_APP_ID,
    SAMPLE_APP_SECRET,
    SAMPLE_CUSTOMER_ID,
    SAMPLE_USER_ID,
)
from dev.emulators.stack import EmulatorStack

# What the operator's shell needs from the function's local settings.
_FROM_FUNCTION_SETTINGS = (
    "KEY_VAULT_URL",
    "KEY_VAULT_VERIFY_CHALLENGE_RESOURCE",
    "PARTNER_TENANT_ID",
    "AUTHORITY_HOST",
    "PARTNER_CENTER_BASE_URL",
    "GRAPH_BASE_URL",
    "SECRET_NAME_APP_ID",
    "SECRET_NAME_APP_SECRET",
    "SECRET_NAME_REFRESH_TOKEN",
    # Local mode's credential: the managed-identity emulator, and the test CA for HTTPS.
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "AZURE_CLIENT_ID",
    "REQUESTS_CA_BUNDLE",
)
REHEARSAL_TICKET = "INC0012345"
REHEARSAL_PASSWORD = "Correct-Horse-42"


@dataclass(frozen=True)
class HttpCall:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None

    def curl(self) -> str:
        parts = ["curl -s"]
        if self.method != "GET":
            parts.append(f"-X {self.method}")
        parts.append(shlex.quote(self.url))
        parts += [f"-H {shlex.quote(f'{name}: {value}')}" for name, value in self.headers.items()]
        if self.body is not None:
            parts.append(f"-d {shlex.quote(self.body)}")
        return " ".join(parts)


@dataclass(frozen=True)
class Step:
    title: str
    # `python3 -m ops ARGS`, with what goes to its standard input; or an HTTP call.
    ops: tuple[str, ...] | None = None
    stdin: str | None = None
    http: HttpCall | None = None
    note: str = ""

    def command(self) -> str:
        if self.http is not None:
            return self.http.curl()
        assert self.ops is not None
        command = "python3 -m ops " + shlex.join(self.ops)
        if self.stdin is not None:
            return f"printf '%s\\n' {shlex.quote(self.stdin)} | {command}"
        return command


def operator_environment(stack: EmulatorStack) -> dict[str, str]:
    """What `python3 -m ops` needs in the operator's shell to use these emulators."""
    settings = stack.settings()
    environment = {name: settings[name] for name in _FROM_FUNCTION_SETTINGS}
    environment["LOG_ANALYTICS_ENDPOINT"] = stack.log_analytics.url
    environment["LOG_ANALYTICS_WORKSPACE_ID"] = stack.log_analytics.workspace_id
    return environment


def steps(base_url: str, function_key: str) -> list[Step]:
    reset = f"{base_url}/customers/{SAMPLE_CUSTOMER_ID}/users/{SAMPLE_USER_ID}/resetpassword"
    key = {"x-functions-key": function_key}
    body = json.dumps({"password": REHEARSAL_PASSWORD, "ticketId": REHEARSAL_TICKET})
    return [
        Step(
            "Store the app's ID and secret in the vault (the sample app's secret, from"
            " standard input: a real one comes from a file or the unseen prompt)",
            ops=("secrets", "--app-id", SAMPLE_APP_ID, "--app-secret-file", "-"),
            stdin=SAMPLE_APP_SECRET,
        ),
        Step(
            "Consent as the partner admin: open the URL it prints in a browser on this"
            " machine (the emulated sign-in answers at once); without a browser, in another"
            ' shell: curl -s -L -o /dev/null "<that URL>"',
            ops=("consent", "--no-browser"),
        ),
        Step(
            "Reset the sample user's password",
            http=HttpCall("POST", reset, {**key, "Content-Type": "application/json"}, body),
        ),
        Step(
            "Check the credentials' health",
            http=HttpCall("GET", f"{base_url}/health/credentials", key),
        ),
        Step("Read the audit: the reset above, newest first", ops=("audit", "--since", "1h")),
    ]


def render(environment: Mapping[str, str], plan: list[Step]) -> str:
    lines = [
        "Rehearse the operator path (README: Rehearse the operator path locally); in a",
        "second shell, from the repository:",
        "",
        *(f"  export {name}={shlex.quote(value)}" for name, value in environment.items()),
    ]
    for number, step in enumerate(plan, start=1):
        lines += ["", f"  # {number}. {step.title}", f"  {step.command()}"]
    return "\n".join(lines)
