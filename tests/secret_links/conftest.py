"""One-time links against Azurite through the real azure-data-tables code: a store on a
fresh table per test, the registered functions called as the worker calls them (or
served by the local host stand-in to a headless Chromium), and a wall clock the test
moves."""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import azure.functions as func
import pytest
from azure.data.tables import TableClient
from azure.functions.timer import TimerRequest
from selenium import webdriver

import composition
from dev.localhost import LocalFunctionsHost, http_functions
from secret_links.crypto import LinkKey, new_link, seal
from secret_links.store import SecretLinkStore
from shared.settings import SETTING_NAMES
from shared.storage import open_table
from tests.browser import chromium
from tests.integration.conftest import Answer

TTL = timedelta(minutes=60)
CUSTOMER = "c0a1b2c3-d4e5-4f60-8a71-b2c3d4e5f601"
USER = "a11ce000-0000-4000-8000-00000000ada1"
OTHER_USER = "b0b00000-0000-4000-8000-0000000000b0"


class ManualClock:
    """Wall-clock seconds that move only when the test says so."""

    def __init__(self, start: float | None = None) -> None:
        self._lock = threading.Lock()
        self._now = time.time() if start is None else start

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def table(azurite_connection_string: str) -> TableClient:
    """A table of this test's own: specs that purge or list never see another's rows."""
    return open_table(
        connection_string=azurite_connection_string,
        timeouts=composition.TIMINGS.table_timeouts,
        table_name=f"links{uuid.uuid4().hex}",
        retry_backoff=0.01,
    )


@pytest.fixture
def store(table: TableClient, clock: ManualClock) -> SecretLinkStore:
    return SecretLinkStore(table, ttl=TTL, clock=clock.now)


@dataclass
class LinkHarness:
    """The registered link functions, called as the worker calls them, against Azurite,
    with the links' wall clock in the test's hand."""

    registered: dict[str, Any]
    monkeypatch: pytest.MonkeyPatch
    caplog: pytest.LogCaptureFixture
    clock: ManualClock
    answers: list[Answer] = field(default_factory=list)

    @property
    def store(self) -> SecretLinkStore:
        """The very store the functions use (built from the app settings)."""
        return composition.secret_links().store

    def configure(self, **settings: str | None) -> None:
        for name, value in settings.items():
            if value is None:
                self.monkeypatch.delenv(name, raising=False)
            else:
                self.monkeypatch.setenv(name, value)
        composition.rebuild()

    def ready_link(self, password: str, *, user: str = USER) -> LinkKey:
        link = new_link()
        self.store.create_pending(
            link.link_id, link.public_point, customer_id=CUSTOMER, user_id=user
        )
        self.store.store_sealed(
            link.link_id, seal(password, link_id=link.link_id, public_point=link.public_point)
        )
        return link

    def call(self, function: str, request: func.HttpRequest) -> Answer:
        response = self.registered[function].get_user_function()(request)
        answer = Answer(
            status=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            raw=response.get_body(),
            mimetype=response.mimetype,
        )
        self.answers.append(answer)
        return answer

    def page(self, link_id: str) -> Answer:
        return self.call(
            "secret_link_page",
            func.HttpRequest(
                method="GET",
                url=f"http://localhost:7071/api/secrets/{link_id}",
                headers={},
                route_params={"linkId": link_id},
                body=b"",
            ),
        )

    def reveal(
        self,
        link_id: str,
        body: bytes = b"{}",
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Answer:
        return self.call(
            "secret_link_reveal",
            func.HttpRequest(
                method="POST",
                url=f"http://localhost:7071/api/secrets/{link_id}/reveal",
                headers={"Content-Type": "application/json"} if headers is None else headers,
                params=params or {},
                route_params={"linkId": link_id},
                body=body,
            ),
        )

    def purge(self) -> None:
        self.registered["purge_secret_links"].get_user_function()(TimerRequest())

    def log_text(self) -> str:
        lines = []
        for phase in ("setup", "call", "teardown"):
            for record in self.caplog.get_records(phase):
                lines.append(record.getMessage())
                if record.exc_info:
                    lines.append(logging.Formatter().formatException(record.exc_info))
                lines.append(json.dumps(getattr(record, "custom_dimensions", None), default=str))
        return "\n".join(lines)

    def audit_records(self) -> list[dict[str, Any]]:
        return [
            record.custom_dimensions  # type: ignore[attr-defined]
            for record in self.caplog.get_records("call")
            if record.name == "audit.password_link"
        ]


@pytest.fixture
def links(
    azurite_connection_string: str,
    registered: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    clock: ManualClock,
) -> Iterator[LinkHarness]:
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AzureWebJobsStorage", azurite_connection_string)
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://localhost:7071")
    monkeypatch.setattr(
        "composition.TIMINGS",
        replace(composition.TIMINGS, link_clock=clock.now, table_retry_backoff=0.01),
    )
    caplog.set_level(logging.DEBUG)
    composition.rebuild()
    yield LinkHarness(registered, monkeypatch, caplog, clock)
    composition.rebuild()


@pytest.fixture(scope="session")
def browser() -> Iterator[webdriver.Chrome]:
    """One headless Chromium for the session (a fresh one costs a second or two)."""
    with chromium() as driver:
        yield driver


@pytest.fixture(scope="session")
def served(registered: dict[str, Any]) -> Iterator[LocalFunctionsHost]:
    """The app's HTTP functions behind the local host stand-in (routes under /api, as the
    Functions host serves them), recording every request a page makes."""
    host = LocalFunctionsHost(
        http_functions(registered.values()), secrets.token_urlsafe(16), log=None
    ).start()
    host.recording = True
    try:
        yield host
    finally:
        host.stop()
