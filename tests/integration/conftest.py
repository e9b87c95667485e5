"""Integration harness: the registered functions, driven like the worker drives them,
against the emulators through the real azure-identity, azure-keyvault-secrets and
requests code. Each test starts from a cold process (no cached clients) and a freshly
seeded emulator stack.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import azure.functions as func
import pytest
from azure.core.exceptions import ResourceExistsError
from azure.data.tables import TableClient

import composition
from composition import rebuild
from credentials.outcome_table import TABLE_NAME as OUTCOME_TABLE
from credentials.outcome_table import OutcomeTable
from dev.emulators.faults import Fault
from dev.emulators.messages import RecordedRequest
from dev.emulators.samples import (
    SAMPLE_APP_SECRET,
    SAMPLE_CUSTOMER_ID,
    SAMPLE_USER_ID,
    SECRET_NAME_REFRESH_TOKEN,
)
from dev.emulators.stack import EmulatorStack
from dev.localhost import LocalFunctionsHost, http_functions
from secret_links.store import TABLE_NAME as LINK_TABLE
from shared.settings import SETTING_NAMES
from shared.storage import open_table
from tests.loopback_proxy import LoopbackProxy

CANARY_PASSWORD = "Canary#Pw-7f3a9c"
# The function key of the local host stand-in (`host`).
FUNCTION_KEY = "local-host-test-key"
ROUTE = "customers/{customer}/users/{user}/resetpassword"
# Where the one-time links of these specs point (the local host's origin).
LINK_ORIGIN = "http://localhost:7071"
_TABLE_ENDPOINT = re.compile(r"TableEndpoint=http://127\.0\.0\.1:(\d+)/")


class VirtualClock:
    """Real monotonic time plus every retry wait, which costs nothing: the reset's
    deadline still runs out on a real hang, and a Retry-After of seconds is honoured
    (the deadline moves on by it) without the test waiting it out."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.slept = 0.0

    def now(self) -> float:
        return time.monotonic() + self.slept

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept += max(0.0, seconds)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    raw: bytes
    mimetype: str | None

    @property
    def json(self) -> dict[str, Any]:
        value = json.loads(self.raw)
        assert isinstance(value, dict)
        return value


@dataclass
class Harness:
    stack: EmulatorStack
    registered: dict[str, Any]
    monkeypatch: pytest.MonkeyPatch
    caplog: pytest.LogCaptureFixture
    clock: VirtualClock
    answers: list[Answer] = field(default_factory=list)
    extra_secrets: list[str] = field(default_factory=list)

    def timings(self, **changes: Any) -> None:
        """Shorter waits (composition.Timings fields); the next request starts cold."""
        self.monkeypatch.setattr("composition.TIMINGS", replace(composition.TIMINGS, **changes))
        rebuild()

    def configure(self, **settings: str | None) -> None:
        """Change app settings; the next request starts cold, as after a restart."""
        self._set(settings)
        rebuild()

    def configure_route(self, **settings: str | None) -> None:
        """Change settings of the reset route alone, keeping the secrets and tokens warm:
        for a spec whose subject is one upstream call, not the cold start."""
        self._set(settings)
        rebuild(keep_credentials=True)

    def _set(self, settings: Mapping[str, str | None]) -> None:
        for name, value in settings.items():
            if value is None:
                self.monkeypatch.delenv(name, raising=False)
            else:
                self.monkeypatch.setenv(name, value)

    def call(
        self,
        function: str,
        *,
        method: str,
        route: str,
        route_params: Mapping[str, str],
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Answer:
        query = "&".join(f"{k}={v}" for k, v in (params or {}).items())
        request = func.HttpRequest(
            method=method,
            url=f"http://localhost:7071/api/{route}" + (f"?{query}" if query else ""),
            headers=dict(headers or {}),
            params=dict(params or {}),
            route_params=dict(route_params),
            body=body,
        )
        response = self.registered[function].get_user_function()(request)
        answer = Answer(
            status=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            raw=response.get_body(),
            mimetype=response.mimetype,
        )
        self.answers.append(answer)
        return answer

    def reset(
        self,
        body: dict[str, Any] | bytes | None = None,
        *,
        customer: str = SAMPLE_CUSTOMER_ID,
        user: str = SAMPLE_USER_ID,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Answer:
        if body is None:
            body = {"password": CANARY_PASSWORD}
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.call(
            "reset_password",
            method="POST",
            route=ROUTE.format(customer=customer, user=user),
            route_params={"customer": customer, "user": user},
            body=raw,
            headers={"Content-Type": "application/json", **(headers or {})},
            params=params,
        )

    def finish_background_work(self) -> None:
        """Wait until the work the requests left running has made its first attempt (a
        refresh-token write-back): the credentials are closed, as at a worker's
        shutdown, and the next request starts cold."""
        rebuild()

    def wait_for_refresh_token_write(self, count: int = 1, timeout: float = 5.0) -> None:
        """The rotated refresh token is stored in the background; wait until it lands."""
        end = time.monotonic() + timeout
        while self.stack.key_vault.writes(SECRET_NAME_REFRESH_TOKEN) < count:
            assert time.monotonic() < end, "the refresh token was not written back in time"
            time.sleep(0.01)

    def secrets(self) -> list[str]:
        """Every secret value the function handled in this test: the generated passwords
        too, each as Partner Center received it."""
        values = [CANARY_PASSWORD, SAMPLE_APP_SECRET]
        values += self.stack.identity.current_refresh_tokens
        values += self.stack.ledger.issued_tokens()
        values += received_passwords(self.stack)
        return values + self.extra_secrets

    def assert_nothing_leaked(self, *extra_secrets: str) -> None:
        """No secret in any answer (body, headers) or any captured log line."""
        seen = [a.raw.decode(errors="replace") + json.dumps(a.headers) for a in self.answers]
        # At teardown caplog.records holds only teardown's lines: read every phase.
        records = [
            record
            for phase in ("setup", "call", "teardown")
            for record in self.caplog.get_records(phase)
        ]
        for record in records:
            seen.append(record.getMessage())
            if record.exc_info:
                seen.append(logging.Formatter().formatException(record.exc_info))
            seen.append(json.dumps(getattr(record, "custom_dimensions", None), default=str))
        haystack = "\n".join(seen)
        for secret in (*self.secrets(), *extra_secrets):
            # As sent, and as JSON writes it (a generated password may hold a backslash).
            for form in {secret, json.dumps(secret)[1:-1]}:
                assert form not in haystack, "a secret value leaked into an answer or log"


def received_passwords(stack: EmulatorStack) -> list[str]:
    """Every password sent to Partner Center in this test, as its emulator recorded it."""
    found = []
    for request in stack.partner_center.requests_to("PATCH", r"^/v1/customers/"):
        try:
            password = json.loads(request.body)["passwordProfile"]["password"]
        except (ValueError, KeyError, TypeError):
            continue
        if isinstance(password, str) and password:
            found.append(password)
    return found


@pytest.fixture
def harness(
    emulator_stack: EmulatorStack,
    registered: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> Iterator[Harness]:
    stack = emulator_stack
    stack.reset_state()
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in stack.settings().items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    # Refused write-backs are retried after seconds in production; here at once.
    # Retry waits run on a virtual clock: honoured by the deadline, not waited out.
    clock = VirtualClock()
    monkeypatch.setattr(
        "composition.TIMINGS",
        replace(
            composition.TIMINGS,
            secret_write_retry_delays=(0.01, 0.01),
            key_vault_retry_backoff=0.005,
            sleep=clock.sleep,
            deadline_clock=clock.now,
        ),
    )
    rebuild()
    running = Harness(stack, registered, monkeypatch, caplog, clock)
    yield running
    running.assert_nothing_leaked()
    rebuild()


@pytest.fixture
def host(
    harness: Harness, link_table: LinkTable, app_functions: list[Any]
) -> Iterator[LocalFunctionsHost]:
    """The app's HTTP functions behind the local host stand-in, on loopback, for specs
    that speak HTTP to them (schemathesis, the documents' examples); one-time links on,
    in Azurite, since a request may ask for a delivery."""
    # Guard off: fewer upstream round trips per example; its answers are described alike.
    harness.configure(PROTECTED_ROLE_GUARD="false")
    with LocalFunctionsHost(http_functions(app_functions), FUNCTION_KEY, log=None) as running:
        yield running


@pytest.fixture
def tokens_on(harness: Harness) -> Harness:
    """Caller tokens on: the emulator's caller tenant and audience."""
    harness.configure(**harness.stack.settings(caller_auth=True))
    return harness


@pytest.fixture
def guard_off(harness: Harness) -> Harness:
    """The protected-role guard off: each reset is one PATCH, for specs whose subject is
    not the guard's reads (those have their own)."""
    harness.configure(PROTECTED_ROLE_GUARD="false")
    return harness


@dataclass(frozen=True)
class ResetCall:
    """One of the two Partner Center calls that reset a password
    (PARTNER_CENTER_RESET_CALL), and how to recognise it at the emulator."""

    setting: str
    path: str

    def inject(self, harness: Harness, fault: Fault, *, times: int | None = 1) -> None:
        # PATCH only: with the older call, the guard's GET reads the same path.
        harness.stack.partner_center.inject(fault, times=times, method="PATCH", path=self.path)

    def patches(self, harness: Harness) -> list[RecordedRequest]:
        return harness.stack.partner_center.requests_to("PATCH", self.path)


RESET_CALLS = (
    ResetCall("resetpassword", r"^/v1/customers/[^/]+/users/[^/]+/resetpassword$"),
    ResetCall("users", r"^/v1/customers/[^/]+/users/[^/]+$"),
)


@pytest.fixture(params=RESET_CALLS, ids=lambda call: call.setting)
def reset_call(request: pytest.FixtureRequest, harness: Harness) -> ResetCall:
    """Runs the test once per reset call: retries, errors and what never leaks must not
    depend on which one the operator chose."""
    call: ResetCall = request.param
    harness.configure(PARTNER_CENTER_RESET_CALL=call.setting)
    return call


@dataclass
class LinkTable:
    """The resets' `secretlinks` table in Azurite, read directly by the spec, while the
    function reaches it through a proxy the spec can cut."""

    table: TableClient
    proxy: LoopbackProxy

    def rows(self) -> list[dict[str, Any]]:
        return [dict(entity) for entity in self.table.list_entities()]

    def links(self) -> list[dict[str, Any]]:
        return [row for row in self.rows() if row["RowKey"] == "link"]

    def cut(self, *_: object) -> None:
        """From now on the function cannot reach the table (also as the Partner Center
        emulator's `on_reset`, which hands over the reset applied)."""
        self.proxy.close()

    def hang(self, *_: object) -> None:
        """From now on the table takes the function's requests and never answers (also
        as the Partner Center emulator's `on_reset`)."""
        self.proxy.hang()


def empty_table(connection_string: str, name: str) -> TableClient:
    """Azurite's table `name`, made or emptied: each spec starts from none of its rows."""
    table = open_table(
        connection_string=connection_string,
        table_name=name,
        timeouts=composition.TIMINGS.table_timeouts,
        retry_backoff=0.01,
    )
    try:
        table.create_table()
    except ResourceExistsError:
        for entity in list(table.list_entities(select=["PartitionKey", "RowKey"])):
            table.delete_entity(entity["PartitionKey"], entity["RowKey"])
    return table


@pytest.fixture
def link_table(harness: Harness, azurite_connection_string: str) -> Iterator[LinkTable]:
    """One-time links on for the harness: the settings point at Azurite (through the
    proxy), links at LINK_ORIGIN, and the table starts empty."""
    found = _TABLE_ENDPOINT.search(azurite_connection_string)
    assert found is not None, "Azurite's connection string names its table endpoint"
    table = empty_table(azurite_connection_string, LINK_TABLE)
    with LoopbackProxy(int(found.group(1))) as proxy:
        harness.monkeypatch.setattr(
            "composition.TIMINGS", replace(composition.TIMINGS, table_retry_backoff=0.01)
        )
        harness.configure(
            AzureWebJobsStorage=azurite_connection_string.replace(
                found.group(0), f"TableEndpoint=http://127.0.0.1:{proxy.port}/"
            ),
            PUBLIC_BASE_URL=LINK_ORIGIN,
        )
        yield LinkTable(table, proxy)
    table.close()


@dataclass
class CheckTable:
    """The rotation's kept checks (table credentialchecks) in Azurite, read directly by
    the spec; the function reaches it through AzureWebJobsStorage."""

    table: TableClient

    def rows(self) -> dict[str, dict[str, Any]]:
        return {entity["RowKey"]: dict(entity) for entity in self.table.list_entities()}

    def keep_ok(self, at: float) -> None:
        """As an ok rotation at `at` (epoch seconds) would have kept its checks."""
        kept = OutcomeTable(self.table, clock=lambda: at)
        kept.keep((name, "ok", "fine") for name in ("rotation", "token_exchange", "mfa"))


@pytest.fixture
def check_table(harness: Harness, azurite_connection_string: str) -> Iterator[CheckTable]:
    """The host's storage in Azurite for the credentials timers, the rotation's table
    empty: as before the first rotation."""
    table = empty_table(azurite_connection_string, OUTCOME_TABLE)
    harness.configure(AzureWebJobsStorage=azurite_connection_string)
    yield CheckTable(table)
    table.close()


@pytest.fixture
def rotation_ran(check_table: CheckTable) -> CheckTable:
    """As after an ok rotation just now: the daily checks report the rotation ok."""
    check_table.keep_ok(time.time())
    return check_table
