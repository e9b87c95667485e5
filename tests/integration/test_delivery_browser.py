"""A reset with a one-time link, opened by a person: the registered reset function makes
the link (Partner Center and the identity platform emulated, the table in Azurite), and
headless Chromium opens it from the local host stand-in, as `python3 dev/run.py` serves
it. The page shows exactly the password Partner Center received, once."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dev.emulators.samples import SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID
from dev.localhost import LocalFunctionsHost, http_functions
from tests.browser import chromium
from tests.integration.conftest import Harness, LinkTable

WAIT_SECONDS = 10


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    with chromium() as driver:
        yield driver


@pytest.fixture
def served(
    harness: Harness, link_table: LinkTable, app_functions: list[Any]
) -> Iterator[LocalFunctionsHost]:
    """The app's HTTP functions on a port of their own, and links pointing there."""
    # Selenium logs what the page shows (the password) and where it goes (the key), at
    # DEBUG: a driver's log, not the function's, which the harness searches for leaks.
    harness.caplog.set_level(logging.INFO, logger="selenium")
    host = LocalFunctionsHost(http_functions(app_functions), secrets.token_urlsafe(16), log=None)
    with host.start() as running:
        harness.configure(PUBLIC_BASE_URL=running.url)
        running.recording = True
        yield running


def test_the_page_shows_the_password_partner_center_received_and_only_once(
    harness: Harness, served: LocalFunctionsHost, browser: webdriver.Chrome
) -> None:
    answer = harness.reset({"delivery": "link", "ticketId": "INC0012345"})
    url = answer.json["secretLink"]["url"]
    assert url.startswith(f"{served.url}/api/secrets/")

    browser.get(url)
    browser.find_element(By.ID, "reveal").click()
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda b: b.find_element(By.ID, "password").text.strip() != ""
    )
    shown = browser.find_element(By.ID, "password").text
    received = harness.stack.partner_center.current_password(SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID)
    assert shown == received
    # The key stayed in the browser: no request the page made carried it.
    key = url.partition("#")[2]
    sent = "".join(r.path + r.raw_query + r.body.decode(errors="replace") for r in served.requests)
    assert key not in sent and key[:42] not in sent

    # The second time, from a fresh page (a same-page navigation would not reload it).
    browser.get("about:blank")
    browser.get(url)
    assert "expired or was already used" in browser.find_element(By.TAG_NAME, "h1").text
    assert browser.find_elements(By.ID, "reveal") == []
    browser.get("about:blank")
