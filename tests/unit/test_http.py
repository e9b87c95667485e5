"""The process's HTTP session: the standard proxy and CA-bundle variables still apply,
read once per origin; requests go out as our clients wrote them, cookies never."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from dev.emulators import EmulatorServer, RecordedRequest, Response
from dev.emulators.tls import TestCertificateAuthority
from worker.http import build_session

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


class Recorder(EmulatorServer):
    """Answers 200 to anything and sets a cookie, as a proxy or an API might."""

    def handle(self, request: RecordedRequest) -> Response:
        return Response(200, b"{}", {"Set-Cookie": "affinity=abc; Path=/"})


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*PROXY_VARIABLES, "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    with Recorder() as running:
        yield running


def call(session: requests.Session, url: str) -> requests.Response:
    return session.request(
        "GET", url, headers={"Accept": "application/json"}, timeout=(2, 2), allow_redirects=False
    )


@pytest.mark.usefixtures("clean_environment")
def test_http_proxy_from_the_environment_carries_the_request(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", recorder.url)
    assert call(build_session(), "http://partner-center.invalid/v1/customers").status_code == 200
    # The name does not resolve: only the proxy could have taken it.
    assert [(r.headers["host"], r.path) for r in recorder.requests] == [
        ("partner-center.invalid", "/v1/customers")
    ]


@pytest.mark.usefixtures("clean_environment")
def test_no_proxy_sends_the_request_straight_to_the_host(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # the discard port: nothing answers
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert call(build_session(), recorder.url + "/v1/customers").status_code == 200
    assert [r.path for r in recorder.requests] == ["/v1/customers"]


@pytest.mark.usefixtures("clean_environment")
def test_the_ca_bundle_from_the_environment_is_trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    with TestCertificateAuthority() as ca, Recorder(ssl_context=ca.server_context()) as server:
        with pytest.raises(requests.exceptions.SSLError):
            call(build_session(), server.url + "/x")
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca.ca_bundle_path)
        assert call(build_session(), server.url + "/x").status_code == 200


@pytest.mark.usefixtures("clean_environment")
def test_a_cookie_an_answer_set_is_never_sent_back(recorder: Recorder) -> None:
    session = build_session()
    call(session, recorder.url + "/first")
    call(session, recorder.url + "/second")
    assert all("cookie" not in r.headers for r in recorder.requests)


@pytest.mark.usefixtures("clean_environment")
def test_our_headers_go_out_beside_the_sessions_defaults(recorder: Recorder) -> None:
    call(build_session(), recorder.url + "/x")
    sent = recorder.requests[0].headers
    assert sent["accept"] == "application/json"
    assert sent["user-agent"].startswith("python-requests/")
