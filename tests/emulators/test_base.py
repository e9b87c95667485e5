"""EmulatorServer: recording, every fault type, keep-alive and a stop that never hangs."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from dev.emulators import (
    Delay,
    Disconnect,
    DropResponse,
    EmulatorServer,
    Hang,
    RawBody,
    RecordedRequest,
    Response,
    Status,
)
from dev.emulators.messages import json_response


class EchoEmulator(EmulatorServer):
    def __init__(self) -> None:
        super().__init__()
        self.handled = 0
        self._count_lock = threading.Lock()

    def handle(self, request: RecordedRequest) -> Response:
        with self._count_lock:
            self.handled += 1
        if request.path == "/boom":
            raise RuntimeError("handler bug")
        return json_response(200, {"path": request.path, "method": request.method})


@pytest.fixture(scope="module")
def shared_echo() -> Iterator[EchoEmulator]:
    with EchoEmulator() as server:
        yield server


@pytest.fixture
def echo(shared_echo: EchoEmulator) -> EchoEmulator:
    shared_echo.clear_faults()
    shared_echo.clear_requests()
    shared_echo.latency = 0.0
    return shared_echo


def test_url_is_loopback_http(echo: EchoEmulator) -> None:
    assert echo.url.startswith("http://127.0.0.1:")
    assert echo.port > 0


def test_records_method_path_query_headers_and_body(echo: EchoEmulator) -> None:
    requests.post(
        f"{echo.url}/things/1?size=5&size=9&flag=",
        data={"a": "1", "b": "x y"},
        headers={"X-Custom": "Value"},
        timeout=5,
    )
    requests.put(f"{echo.url}/things/2", json={"k": [1, 2]}, timeout=5)

    first, second = echo.requests
    assert (first.method, first.path) == ("POST", "/things/1")
    assert first.query == {"size": "5", "flag": ""}
    assert first.headers["x-custom"] == "Value"
    assert first.form() == {"a": "1", "b": "x y"}
    assert second.json() == {"k": [1, 2]}
    assert [r.path for r in echo.requests_to("put", r"^/things/\d+$")] == ["/things/2"]
    echo.clear_requests()
    assert echo.requests == []


def test_chunked_request_body_is_read(echo: EchoEmulator) -> None:
    requests.post(f"{echo.url}/chunked", data=iter([b"ab", b"cd"]), timeout=5)
    assert echo.requests[0].body == b"abcd"


def test_status_fault_replaces_the_answer_then_is_consumed(echo: EchoEmulator) -> None:
    echo.inject(Status(503, {"error": "busy"}, {"Retry-After": "2"}))

    faulted = requests.get(f"{echo.url}/x", timeout=5)
    normal = requests.get(f"{echo.url}/x", timeout=5)

    assert faulted.status_code == 503
    assert faulted.json() == {"error": "busy"}
    assert faulted.headers["Retry-After"] == "2"
    assert normal.status_code == 200
    assert echo.handled >= 1


def test_status_fault_with_bytes_or_no_body(echo: EchoEmulator) -> None:
    echo.inject(Status(500, b"oops"))
    echo.inject(Status(429))
    assert requests.get(f"{echo.url}/x", timeout=5).content == b"oops"
    empty = requests.get(f"{echo.url}/x", timeout=5)
    assert (empty.status_code, empty.content) == (429, b"")


def test_faults_are_fifo_and_filtered_by_method_and_path(echo: EchoEmulator) -> None:
    echo.inject(Status(401), method="POST")
    echo.inject(Status(404), path=r"/only/")
    echo.inject(Status(500), times=2)

    assert requests.get(f"{echo.url}/only/here", timeout=5).status_code == 404
    assert requests.get(f"{echo.url}/x", timeout=5).status_code == 500
    assert requests.post(f"{echo.url}/x", timeout=5).status_code == 401
    assert requests.get(f"{echo.url}/x", timeout=5).status_code == 500
    assert requests.get(f"{echo.url}/x", timeout=5).status_code == 200


def test_forever_fault_until_cleared(echo: EchoEmulator) -> None:
    echo.inject(Status(502), times=None)
    assert all(requests.get(f"{echo.url}/x", timeout=5).status_code == 502 for _ in range(3))
    echo.clear_faults()
    assert requests.get(f"{echo.url}/x", timeout=5).status_code == 200


def test_a_fault_every_nth_request_answers_one_in_n(echo: EchoEmulator) -> None:
    echo.inject(Status(429), times=None, every=3)
    statuses = [requests.get(f"{echo.url}/x", timeout=5).status_code for _ in range(6)]
    assert statuses == [200, 200, 429, 200, 200, 429]


def test_invalid_times_is_refused(echo: EchoEmulator) -> None:
    with pytest.raises(ValueError, match="times"):
        echo.inject(Status(500), times=0)


def test_raw_body_fault(echo: EchoEmulator) -> None:
    echo.inject(RawBody())
    answer = requests.get(f"{echo.url}/x", timeout=5)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        answer.json()


def test_delay_fault_answers_normally_after_waiting(echo: EchoEmulator) -> None:
    echo.inject(Delay(0.3))
    started = time.monotonic()
    answer = requests.get(f"{echo.url}/x", timeout=5)
    assert answer.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_hang_fault_times_the_client_out(echo: EchoEmulator) -> None:
    echo.inject(Hang(seconds=2))
    with pytest.raises(requests.ReadTimeout):
        requests.get(f"{echo.url}/x", timeout=0.3)
    assert requests.get(f"{echo.url}/x", timeout=5).status_code == 200


def test_disconnect_fault_closes_without_answer(echo: EchoEmulator) -> None:
    before = echo.handled
    echo.inject(Disconnect())
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{echo.url}/x", timeout=5)
    assert echo.handled == before
    assert [r.path for r in echo.requests] == ["/x"]


def test_drop_response_runs_the_handler_but_answers_nothing(echo: EchoEmulator) -> None:
    before = echo.handled
    echo.inject(DropResponse())
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{echo.url}/x", timeout=5)
    assert echo.handled == before + 1


def test_latency_applies_to_every_answer(echo: EchoEmulator) -> None:
    echo.latency = 0.2
    started = time.monotonic()
    requests.get(f"{echo.url}/x", timeout=5)
    requests.get(f"{echo.url}/x", timeout=5)
    assert time.monotonic() - started >= 0.4


def test_handler_exception_becomes_a_500(echo: EchoEmulator) -> None:
    answer = requests.get(f"{echo.url}/boom", timeout=5)
    assert answer.status_code == 500
    assert "handler bug" in answer.json()["detail"]


def test_keep_alive_serves_several_requests_on_one_connection(echo: EchoEmulator) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", echo.port, timeout=5)
    try:
        for _ in range(3):
            connection.request("GET", "/same")
            answer = connection.getresponse()
            assert answer.version == 11
            assert answer.getheader("Content-Length") is not None
            answer.read()
            assert not answer.will_close
    finally:
        connection.close()
    assert len(echo.requests) == 3


def test_stop_does_not_wait_for_a_hanging_handler() -> None:
    server = EchoEmulator().start()
    server.inject(Hang(seconds=60))
    failures: list[BaseException] = []

    def call() -> None:
        try:
            requests.get(f"{server.url}/x", timeout=30)
        except requests.RequestException as exc:
            failures.append(exc)

    client = threading.Thread(target=call, daemon=True)
    client.start()
    deadline = time.monotonic() + 5
    while not server.requests and time.monotonic() < deadline:
        time.sleep(0.01)

    started = time.monotonic()
    server.stop()
    client.join(timeout=5)

    assert time.monotonic() - started < 2
    assert not client.is_alive()
    assert failures, "the hung request should end in a connection error, not an answer"
    assert not server.running


def test_stop_closes_idle_keep_alive_connections() -> None:
    server = EchoEmulator().start()
    url = server.url
    session = requests.Session()
    assert session.get(f"{url}/x", timeout=5).status_code == 200
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2
    with pytest.raises(requests.ConnectionError):
        session.get(f"{url}/x", timeout=2)


def test_url_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        _ = EchoEmulator().url


def test_clear_faults_releases_a_hanging_request(echo: EchoEmulator) -> None:
    echo.inject(Hang(seconds=60))
    outcome: list[str] = []

    def call() -> None:
        try:
            requests.get(f"{echo.url}/x", timeout=30)
            outcome.append("answered")
        except requests.ConnectionError:
            outcome.append("dropped")

    client = threading.Thread(target=call, daemon=True)
    client.start()
    deadline = time.monotonic() + 5
    while not echo.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    echo.clear_faults()
    client.join(timeout=5)

    assert outcome == ["dropped"]
    assert requests.get(f"{echo.url}/x", timeout=5).status_code == 200
