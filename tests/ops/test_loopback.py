"""The one-shot loopback listener that receives the sign-in redirect."""

from __future__ import annotations

import socket
import time

import pytest

from ops.errors import OpsError
from ops.loopback import LoopbackListener, parse_redirect_uri

from .conftest import http_get


def test_port_zero_listens_on_a_free_port_and_names_it_in_the_redirect_uri() -> None:
    with LoopbackListener("http://localhost:0") as listener:
        host, port, path = parse_redirect_uri(listener.redirect_uri)

    assert (host, path) == ("localhost", "/")
    assert port > 0


def test_the_first_answer_with_a_code_is_kept() -> None:
    with LoopbackListener("http://localhost:0/callback") as listener:
        status, _ = http_get(f"{listener.redirect_uri}?code=c1&state=s1")
        second, _ = http_get(f"{listener.redirect_uri}?code=c2&state=s2")
        callback = listener.wait(1)

    assert (status, second) == (200, 200)
    assert callback is not None
    assert (callback.code, callback.state) == ("c1", "s1")


def test_other_paths_and_answers_without_code_or_error_keep_it_waiting() -> None:
    with LoopbackListener("http://localhost:0/callback") as listener:
        base = listener.redirect_uri.removesuffix("/callback")
        favicon, _ = http_get(f"{base}/favicon.ico")
        bare, _ = http_get(f"{listener.redirect_uri}?state=s")
        assert listener.wait(0.05) is None
        http_get(f"{listener.redirect_uri}?error=access_denied&state=s")
        callback = listener.wait(1)

    assert (favicon, bare) == (404, 404)
    assert callback is not None
    assert callback.error == "access_denied"


def test_an_idle_connection_does_not_hold_up_the_answer() -> None:
    with LoopbackListener("http://localhost:0") as listener:
        _, port, _ = parse_redirect_uri(listener.redirect_uri)
        # Browsers open speculative connections that never send a request.
        with socket.create_connection(("127.0.0.1", port)):
            started = time.monotonic()
            http_get(f"{listener.redirect_uri}?code=c&state=s")
            callback = listener.wait(2)

    assert callback is not None
    assert time.monotonic() - started < 2


def test_the_answer_page_is_not_cached_and_sends_no_referrer() -> None:
    with LoopbackListener("http://localhost:0") as listener:
        _, headers = http_get(f"{listener.redirect_uri}?code=c&state=s")

    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"


def test_a_busy_port_is_reported_at_once() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(OpsError, match=f"127.0.0.1:{port} .*the port is in use"):
            LoopbackListener(f"http://localhost:{port}")


def test_the_port_is_free_again_after_the_listener_closes() -> None:
    with LoopbackListener("http://localhost:0") as first:
        http_get(f"{first.redirect_uri}?code=c&state=s")
    with LoopbackListener(first.redirect_uri) as again:
        assert again.redirect_uri == first.redirect_uri


@pytest.mark.parametrize(
    "uri",
    ["https://localhost:8400", "http://example.com:8400", "http://localhost:8400/?x=1"],
)
def test_only_plain_loopback_redirect_uris_are_accepted(uri: str) -> None:
    with pytest.raises(OpsError, match="--redirect-uri"):
        parse_redirect_uri(uri)
