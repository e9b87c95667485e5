"""The link page's HTML and its Content-Security-Policy: the hashes allow exactly the
inline script and style the page carries, and nothing else runs or loads."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from secret_links.page import CONTENT_SECURITY_POLICY, HEADERS, View, render


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _directives() -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in CONTENT_SECURITY_POLICY.split(";"))


@pytest.mark.parametrize("view", list(View))
def test_every_inline_script_and_style_is_the_one_the_policy_allows(view: View) -> None:
    html = render(view)
    scripts = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    styles = re.findall(r"<style>(.*?)</style>", html, re.DOTALL)
    assert [_hash(s) for s in scripts] == (
        [_directives()["script-src"]] if view is View.READY else []
    )
    assert [_hash(s) for s in styles] == [_directives()["style-src"]]


@pytest.mark.parametrize("view", list(View))
def test_the_page_loads_nothing_from_anywhere(view: View) -> None:
    html = render(view)
    assert not re.search(r"\b(src|href)=", html)
    assert " style=" not in html and " on" + "click=" not in html


def test_the_policy_is_the_contracts() -> None:
    directives = _directives()
    assert directives["default-src"] == "'none'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["form-action"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY
    assert HEADERS["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_the_headers_keep_the_page_out_of_caches_indexes_and_referrers() -> None:
    assert HEADERS["Referrer-Policy"] == "no-referrer"
    assert HEADERS["Cache-Control"] == "no-store"
    assert HEADERS["X-Robots-Tag"] == "noindex"


def test_the_page_is_readable_on_a_phone_and_in_the_readers_language_attribute() -> None:
    html = render(View.READY)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert '<html lang="en">' in html
    assert 'role="status"' in html
    assert html.count("<button") == 2 and html.count('type="button"') == 2
