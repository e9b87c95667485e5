"""The one-shot loopback listener that receives the sign-in redirect."""

from __future__ import annotations

import errno
import socket
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ops import loopback
from ops.errors import OpsError
from ops.loopback import LoopbackListener, parse_redirect_uri, same_state

from .conftest import http_get, needs_ipv6_loopback

STATE = "state-this-command-sent"


def _port(listener: LoopbackListener) -> int:
    return parse_redirect_uri(listener.redirect_uri)[1]


def _get(host: str, port: int, query: str, path: str = "/") -> int:
    netloc = f"[{host}]" if ":" in host else host
    status, _ = http_get(f"http://{netloc}:{port}{path}?{query}")
    return status


def test_port_zero_listens_on_a_free_port_and_names_it_in_the_redirect_uri() -> None:
    with LoopbackListener("http://localhost:0", state=STATE) as listener:
        host, port, path = parse_redirect_uri(listener.redirect_uri)

    assert (host, path) == ("localhost", "/")
    assert port > 0


def test_the_first_answer_with_the_state_is_kept() -> None:
    with LoopbackListener("http://localhost:0/callback", state=STATE) as listener:
        status, _ = http_get(f"{listener.redirect_uri}?code=c1&state={STATE}")
        second, _ = http_get(f"{listener.redirect_uri}?code=c2&state={STATE}")
        callback = listener.wait(1)

    assert (status, second) == (200, 200)
    assert callback is not None
    assert callback.code == "c1"


@pytest.mark.parametrize(
    "query",
    ["error=x", "code=evil", "code=evil&state=wrong", "error=x&state=", f"code=c&state={STATE}x"],
)
def test_an_answer_without_the_state_is_ignored_and_the_wait_goes_on(query: str) -> None:
    with LoopbackListener("http://localhost:0", state=STATE) as listener:
        forged, _ = http_get(f"{listener.redirect_uri}?{query}")
        assert listener.wait(0.05) is None
        real, _ = http_get(f"{listener.redirect_uri}?code=real&state={STATE}")
        callback = listener.wait(1)

    assert (forged, real) == (400, 200)
    assert callback is not None
    assert callback.code == "real"
    assert listener.ignored == 1


@given(st.text())
def test_only_the_exact_state_matches(received: str) -> None:
    assert same_state(received, STATE) is (received == STATE)
    assert same_state(STATE, STATE)
    assert not same_state(None, STATE)


def test_a_state_outside_ascii_is_ignored_rather_than_breaking_the_listener() -> None:
    with LoopbackListener("http://localhost:0", state=STATE) as listener:
        forged, _ = http_get(f"{listener.redirect_uri}?code=evil&state=%C3%A9t%C3%A9")
        http_get(f"{listener.redirect_uri}?code=real&state={STATE}")
        callback = listener.wait(1)

    assert forged == 400
    assert callback is not None
    assert callback.code == "real"


def test_an_error_with_the_state_is_accepted() -> None:
    with LoopbackListener("http://localhost:0", state=STATE) as listener:
        http_get(f"{listener.redirect_uri}?error=access_denied&state={STATE}")
        callback = listener.wait(1)

    assert callback is not None
    assert (callback.code, callback.error) == (None, "access_denied")


def test_other_paths_are_not_answers() -> None:
    with LoopbackListener("http://localhost:0/callback", state=STATE) as listener:
        base = listener.redirect_uri.removesuffix("/callback")
        favicon, _ = http_get(f"{base}/favicon.ico?code=c&state={STATE}")
        assert listener.wait(0.05) is None

    assert favicon == 404


def test_localhost_is_answered_on_ipv4_loopback() -> None:
    with LoopbackListener("http://localhost:0", state=STATE) as listener:
        status = _get("127.0.0.1", _port(listener), f"code=c&state={STATE}")
        callback = listener.wait(1)

    assert status == 200
    assert callback is not None


@needs_ipv6_loopback
def test_localhost_is_answered_on_ipv6_loopback_too() -> None:
    with LoopbackListener("http://localhost:0", state=STATE) as listener:
        status = _get("::1", _port(listener), f"code=c&state={STATE}")
        callback = listener.wait(1)

    assert status == 200
    assert callback is not None


@needs_ipv6_loopback
def test_a_port_taken_on_ipv6_loopback_is_reported_at_once() -> None:
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as busy:
        busy.bind(("::1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(OpsError, match=rf"\[::1\]:{port} .*the port is in use"):
            LoopbackListener(f"http://localhost:{port}", state=STATE)


def test_a_port_taken_on_ipv4_loopback_is_reported_at_once() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(OpsError, match=f"127.0.0.1:{port} .*the port is in use"):
            LoopbackListener(f"http://localhost:{port}", state=STATE)


def test_without_ipv6_loopback_localhost_is_served_on_ipv4_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bind = loopback._bind

    def no_ipv6(host: str, port: int, listener: LoopbackListener) -> loopback._Server:
        if ":" in host:
            raise OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address")
        return bind(host, port, listener)

    monkeypatch.setattr(loopback, "_bind", no_ipv6)

    with LoopbackListener("http://localhost:0", state=STATE) as listener:
        status = _get("127.0.0.1", _port(listener), f"code=c&state={STATE}")

    assert status == 200
    assert listener.addresses == ("127.0.0.1",)


def test_other_loopback_addresses_the_resolver_gives_localhost_are_served_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        loopback, "_resolve_localhost", lambda: ["127.0.0.1", "127.0.0.2", "192.0.2.7"]
    )

    with LoopbackListener("http://localhost:0", state=STATE) as listener:
        status = _get("127.0.0.2", _port(listener), f"code=c&state={STATE}")

    assert status == 200
    assert "127.0.0.2" in listener.addresses
    assert "192.0.2.7" not in listener.addresses, "never beyond loopback"


@needs_ipv6_loopback
def test_an_explicit_ipv4_redirect_uri_binds_that_address_alone() -> None:
    with LoopbackListener("http://127.0.0.1:0", state=STATE) as listener:
        port = _port(listener)
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as other:
            other.bind(("::1", port))

    assert listener.addresses == ("127.0.0.1",)


@needs_ipv6_loopback
def test_an_explicit_ipv6_redirect_uri_binds_that_address_alone() -> None:
    with LoopbackListener("http://[::1]:0/cb", state=STATE) as listener:
        status = _get("::1", _port(listener), f"code=c&state={STATE}", path="/cb")

    assert status == 200
    assert listener.addresses == ("::1",)
    assert listener.redirect_uri.startswith("http://[::1]:")


def test_an_idle_connection_does_not_hold_up_the_answer() -> None:
    # Browsers open speculative connections that never send a request.
    with (
        LoopbackListener("http://localhost:0", state=STATE) as listener,
        socket.create_connection(("127.0.0.1", _port(listener))),
    ):
        started = time.monotonic()
        http_get(f"{listener.redirect_uri}?code=c&state={STATE}")
        callback = listener.wait(2)

    assert callback is not None
    assert time.monotonic() - started < 2


def test_the_answer_page_is_not_cached_and_sends_no_referrer() -> None:
    with LoopbackListener("http://localhost:0", state=STATE) as listener:
        _, headers = http_get(f"{listener.redirect_uri}?code=c&state={STATE}")

    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"


def test_the_port_is_free_again_after_the_listener_closes() -> None:
    with LoopbackListener("http://localhost:0", state=STATE) as first:
        http_get(f"{first.redirect_uri}?code=c&state={STATE}")
    with LoopbackListener(first.redirect_uri, state=STATE) as again:
        assert again.redirect_uri == first.redirect_uri


@pytest.mark.parametrize(
    "uri",
    ["https://localhost:8400", "http://example.com:8400", "http://localhost:8400/?x=1"],
)
def test_only_plain_loopback_redirect_uris_are_accepted(uri: str) -> None:
    with pytest.raises(OpsError, match="--redirect-uri"):
        parse_redirect_uri(uri)
