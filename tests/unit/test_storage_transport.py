"""What the storage clients share (shared/storage.py): the environment read once per
origin, not on every call, with the standard proxy variables still applying; and a
table or queue created once however many threads ask first."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests.sessions
from azure.core.exceptions import ResourceExistsError
from azure.core.rest import HttpRequest

from shared.storage import CreatedOnce, DeadlineTransport


class Recorder(BaseHTTPRequestHandler):
    """Answers 200 to anything; remembers each request line (a proxy sees the whole URL)."""

    seen: list[str]

    def do_GET(self) -> None:
        self.server.seen.append(self.requestline)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    running = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    running.seen = []  # type: ignore[attr-defined]
    threading.Thread(target=running.serve_forever, daemon=True).start()
    yield running
    running.shutdown()
    running.server_close()


@pytest.fixture
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def url_of(server: ThreadingHTTPServer, path: str = "/") -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def send(transport: DeadlineTransport, url: str) -> int:
    return int(transport.send(HttpRequest("GET", url)).status_code)


def test_the_environment_is_read_once_per_origin_not_on_every_call(
    server: ThreadingHTTPServer, no_proxy_settings: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    original = requests.sessions.get_environ_proxies

    def counted(url: str, no_proxy: Any = None) -> Any:
        reads.append(url)
        return original(url, no_proxy=no_proxy)

    monkeypatch.setattr(requests.sessions, "get_environ_proxies", counted)
    transport = DeadlineTransport(connection_timeout=2, read_timeout=2)

    statuses = [send(transport, url_of(server, f"/table{n}")) for n in range(3)]

    assert statuses == [200, 200, 200]
    assert len(reads) == 1


def test_a_proxy_named_in_the_environment_still_carries_the_calls(
    server: ThreadingHTTPServer, no_proxy_settings: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", url_of(server))
    transport = DeadlineTransport(connection_timeout=2, read_timeout=2)
    # Nothing listens there: only the proxy can answer.
    target = "http://127.0.0.1:9/devstoreaccount1/batches"

    assert send(transport, target) == 200
    assert server.seen == [f"GET {target} HTTP/1.1"]  # type: ignore[attr-defined]


def test_no_proxy_in_the_environment_still_bypasses_the_proxy(
    server: ThreadingHTTPServer, no_proxy_settings: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    transport = DeadlineTransport(connection_timeout=2, read_timeout=2)

    assert send(transport, url_of(server, "/direct")) == 200
    assert server.seen == ["GET /direct HTTP/1.1"]  # type: ignore[attr-defined]


def test_a_table_is_created_once_however_many_threads_ask_first() -> None:
    created: list[int] = []
    barrier = threading.Barrier(8)
    once = CreatedOnce(lambda: created.append(1))

    def first_use() -> None:
        barrier.wait()
        once.ensure()

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    once.ensure()

    assert created == [1]


def test_a_table_the_infra_made_counts_as_created() -> None:
    calls: list[int] = []

    def exists() -> None:
        calls.append(1)
        raise ResourceExistsError("TableAlreadyExists")

    once = CreatedOnce(exists)
    once.ensure()
    once.ensure()

    assert calls == [1]
