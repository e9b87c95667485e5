"""The link page in a real browser: headless Chromium opens links served by the local host
stand-in, against Azurite. A password sealed in Python is opened by the page's WebCrypto
with the key from the fragment alone, which never reaches the server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from dev.emulators.messages import RecordedRequest
from dev.localhost import LocalFunctionsHost
from reset_password.generated_password import MAX_LENGTH, generate_password
from secret_links.crypto import LinkKey, new_link, seal
from tests.secret_links.conftest import CUSTOMER, USER, LinkHarness

WAIT_SECONDS = 10


@pytest.fixture
def page(
    browser: webdriver.Chrome, served: LocalFunctionsHost, links: LinkHarness
) -> Iterator[webdriver.Chrome]:
    served.clear_requests()
    browser.set_window_size(1024, 768)
    _console(browser)  # start each spec with an empty console
    yield browser
    browser.get("about:blank")


def _console(browser: webdriver.Chrome) -> list[dict[str, Any]]:
    """What the page wrote to the console since the last call."""
    entries: list[dict[str, Any]] = browser.get_log("browser")  # type: ignore[no-untyped-call]
    return entries


def _url(served: LocalFunctionsHost, link: LinkKey) -> str:
    return link.url(served.url)


def _wait_for_text(browser: webdriver.Chrome, element_id: str) -> str:
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda b: b.find_element(By.ID, element_id).text.strip() != ""
    )
    return str(browser.find_element(By.ID, element_id).text)


def _wait_for_message(browser: webdriver.Chrome, fragment: str) -> str:
    """The status line once it says `fragment` ("Opening..." comes and goes first)."""
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda b: fragment in b.find_element(By.ID, "message").text
    )
    return str(browser.find_element(By.ID, "message").text)


def _visible(browser: webdriver.Chrome, element_id: str) -> bool:
    return bool(browser.find_element(By.ID, element_id).is_displayed())


def _everything_sent(served: LocalFunctionsHost) -> str:
    def text(request: RecordedRequest) -> str:
        return json.dumps(
            [request.method, request.path, request.raw_query, request.header_lines],
        ) + request.body.decode(errors="replace")

    return "\n".join(text(request) for request in served.requests)


def test_the_page_shows_nothing_secret_before_the_click(
    page: webdriver.Chrome, served: LocalFunctionsHost, links: LinkHarness
) -> None:
    password = generate_password(16)
    link = links.ready_link(password)
    page.get(_url(served, link))
    assert _visible(page, "reveal")
    assert not _visible(page, "result")
    assert password not in page.page_source
    assert [r.method for r in served.requests if "/api/" in r.path] == ["GET"]
    assert links.store.status(link.link_id) is not None


def test_a_click_shows_the_password_sealed_in_python_and_the_key_stays_in_the_browser(
    page: webdriver.Chrome, served: LocalFunctionsHost, links: LinkHarness
) -> None:
    password = generate_password(16)
    link = links.ready_link(password)
    page.get(_url(served, link))
    page.find_element(By.ID, "reveal").click()
    assert _wait_for_text(page, "password") == password
    assert not _visible(page, "reveal")
    assert _visible(page, "copy")
    assert page.switch_to.active_element.get_attribute("id") == "password"
    # The fragment is gone from the address bar and the history entry.
    assert page.current_url == f"{served.url}/api/secrets/{link.link_id}"
    reveals = served.requests_to("POST", r"/reveal$")
    assert [r.body for r in reveals] == [b"{}"]
    assert reveals[0].path == f"/api/secrets/{link.link_id}/reveal"
    assert "referer" not in reveals[0].headers
    sent = _everything_sent(served)
    assert link.key_text not in sent
    assert link.key_text[:20] not in sent
    assert "#" not in "".join(r.path + r.raw_query for r in served.requests)
    # No script error, no refused inline script or style (a CSP hash that drifted).
    assert not [entry for entry in _console(page) if entry["level"] == "SEVERE"]


def test_the_button_works_from_the_keyboard(
    page: webdriver.Chrome, served: LocalFunctionsHost, links: LinkHarness
) -> None:
    password = generate_password(16)
    link = links.ready_link(password)
    page.get(_url(served, link))
    page.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    assert page.switch_to.active_element.get_attribute("id") == "reveal"
    page.switch_to.active_element.send_keys(Keys.ENTER)
    assert _wait_for_text(page, "password") == password


def test_a_reload_and_a_second_open_say_the_link_is_gone(
    page: webdriver.Chrome, served: LocalFunctionsHost, links: LinkHarness
) -> None:
    link = links.ready_link(generate_password(16))
    page.get(_url(served, link))
    page.find_element(By.ID, "reveal").click()
    _wait_for_text(page, "password")
    page.refresh()
    assert "expired or was already used" in page.find_element(By.TAG_NAME, "h1").text
    page.get(_url(served, link))
    assert "expired or was already used" in page.find_element(By.TAG_NAME, "h1").text
    assert page.find_elements(By.TAG_NAME, "button") == []


def test_a_link_opened_elsewhere_first_says_gone_on_click(
    page: webdriver.Chrome, served: LocalFunctionsHost, links: LinkHarness
) -> None:
    link = links.ready_link(generate_password(16))
    page.get(_url(served, link))
    assert links.reveal(link.link_id).status == 200  # someone else got there first
    page.find_element(By.ID, "reveal").click()
    _wait_for_message(page, "opened already or has expired")
    assert not _visible(page, "result")


def test_a_link_without_its_key_is_not_spent(
    page: webdriver.Chrome, served: LocalFunctionsHost, links: LinkHarness
) -> None:
    # A link cut short in a chat or a mail must not use the view up on a key it lacks.
    link = links.ready_link(generate_password(16))
    page.get(f"{served.url}/api/secrets/{link.link_id}#{link.key_text[:-10]}")
    page.find_element(By.ID, "reveal").click()
    _wait_for_message(page, "incomplete")
    assert served.requests_to("POST", r"/reveal$") == []
    assert links.store.status(link.link_id) is not None


def test_a_link_not_ready_yet_says_so_and_opens_later(
    page: webdriver.Chrome, served: LocalFunctionsHost, links: LinkHarness
) -> None:
    password = generate_password(16)
    link = new_link()
    links.store.create_pending(link.link_id, link.public_point, customer_id=CUSTOMER, user_id=USER)
    page.get(_url(served, link))
    page.find_element(By.ID, "reveal").click()
    _wait_for_message(page, "not ready yet")
    links.store.store_sealed(
        link.link_id, seal(password, link_id=link.link_id, public_point=link.public_point)
    )
    WebDriverWait(page, WAIT_SECONDS).until(lambda b: b.find_element(By.ID, "reveal").is_enabled())
    page.find_element(By.ID, "reveal").click()
    assert _wait_for_text(page, "password") == password


def test_the_longest_password_fits_a_phone_screen(
    page: webdriver.Chrome, served: LocalFunctionsHost, links: LinkHarness
) -> None:
    password = generate_password(MAX_LENGTH)
    link = links.ready_link(password)
    page.set_window_size(375, 740)
    page.get(_url(served, link))
    page.find_element(By.ID, "reveal").click()
    assert _wait_for_text(page, "password").replace("\n", "") == password
    overflow = page.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow == 0
