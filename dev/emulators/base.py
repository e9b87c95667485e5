"""The HTTP server every emulator runs on: recording, fault injection, clean shutdown."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, cast
from urllib.parse import parse_qs, urlsplit

from dev.emulators.faults import (
    Delay,
    Disconnect,
    DropResponse,
    Fault,
    FaultBook,
    Hang,
    RawBody,
    Status,
)
from dev.emulators.messages import JSON_CONTENT_TYPE, RecordedRequest, Response, json_response

# A client that connects and never finishes the TLS handshake must not pin a thread forever.
_HANDSHAKE_TIMEOUT_S = 10.0


class EmulatorServer:
    """Base class: subclasses answer requests in `handle`.

    The server binds 127.0.0.1 on a free port when started and serves from daemon
    threads, so a test that forgets to stop it cannot keep the process alive.
    """

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None, port: int = 0) -> None:
        self._ssl_context = ssl_context
        self._bind_port = port
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        # Set to wake every sleeping Hang, Delay and latency: on stop, and on clear_faults
        # so a session-wide server does not keep a previous test's hang alive.
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._faults = FaultBook()
        self.latency: float = 0.0
        # A long-running server (dev/localhost.py) turns this off so memory stays flat.
        self.recording = True

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        self._wake = threading.Event()
        httpd = _Server(
            ("127.0.0.1", self._bind_port), _Handler, emulator=self, ssl_context=self._ssl_context
        )
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}-serve",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        # Wake any handler sleeping in a Hang, Delay or latency before waiting on anything.
        self._wake.set()
        httpd.shutdown()
        httpd.close_open_connections()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        scheme = "https" if self._ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    # -- recording -------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def requests_to(self, method: str, path_regex: str) -> list[RecordedRequest]:
        pattern = re.compile(path_regex)
        wanted = method.upper()
        return [r for r in self.requests if r.method == wanted and pattern.search(r.path)]

    # -- faults ----------------------------------------------------------------

    def inject(
        self,
        fault: Fault,
        *,
        times: int | None = 1,
        method: str | None = None,
        path: str | None = None,
        every: int = 1,
    ) -> None:
        """Answer the next `times` matching requests with `fault` (None: every one);
        with `every`, only one matching request in that many.

        `path` is a regular expression searched for in the request path.
        """
        self._faults.add(fault, times=times, method=method, path=path, every=every)

    def clear_faults(self) -> None:
        """Forget pending faults and release requests held by a Hang or Delay."""
        with self._lock:
            self._faults.clear()
            released, self._wake = self._wake, threading.Event()
        released.set()

    # -- for subclasses --------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Response:
        raise NotImplementedError

    def extra_headers(self, request: RecordedRequest) -> dict[str, str]:
        """Headers added to every answer, fault answers included."""
        del request
        return {}

    def pause(self, seconds: float, wake: threading.Event | None = None) -> bool:
        """Sleep unless the server stops first; True when it was interrupted."""
        return seconds > 0 and (wake or self._wake).wait(seconds)

    # -- used by the handler ---------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        if not self.recording:
            return
        with self._lock:
            self._requests.append(request)

    def _take_fault(self, request: RecordedRequest) -> tuple[Fault | None, threading.Event]:
        # The fault and the event that releases it are taken together: a clear_faults
        # between the two would otherwise leave this request waiting on the new event.
        with self._lock:
            return self._faults.take(request), self._wake


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops SYNs when 32 clients connect at once.
    request_queue_size = 128
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        *,
        emulator: EmulatorServer,
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        self.emulator = emulator
        self._ssl_context = ssl_context
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The handshake runs here, in the connection's own thread, so a slow or broken
        # client cannot stall the accept loop.
        conn = cast(socket.socket, request)
        if self._ssl_context is not None:
            try:
                conn.settimeout(_HANDSHAKE_TIMEOUT_S)
                conn = self._ssl_context.wrap_socket(conn, server_side=True)
                conn.settimeout(None)
            except (OSError, ssl.SSLError):
                return
        with self._connections_lock:
            self._connections.add(conn)
        try:
            super().finish_request(conn, client_address)
        except OSError:
            pass
        finally:
            with self._connections_lock:
                self._connections.discard(conn)
            if conn is not request:
                conn.close()

    def close_open_connections(self) -> None:
        # Keep-alive handler threads block reading the next request; shutting their
        # sockets down makes them return instead of outliving the emulator.
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the body waits ~40 ms for the
    # client's delayed ACK on every keep-alive answer.
    disable_nagle_algorithm = True
    server_version = "emulator"

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        del format, args

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    @property
    def _emulator(self) -> EmulatorServer:
        return cast(_Server, self.server).emulator

    def _serve(self) -> None:
        emulator = self._emulator
        request = self._read_request()
        emulator._record(request)
        fault, wake = emulator._take_fault(request)
        if isinstance(fault, Delay):
            if emulator.pause(fault.seconds, wake):
                self._drop()
                return
            fault = None
        if isinstance(fault, Hang):
            emulator.pause(fault.seconds, wake)
            self._drop()
            return
        if isinstance(fault, Disconnect):
            self._drop()
            return
        response = self._fault_response(fault) if fault is not None else None
        if response is None:
            response = self._run_handler(emulator, request)
        if isinstance(fault, DropResponse):
            self._drop()
            return
        if emulator.pause(emulator.latency):
            self._drop()
            return
        self._send(response, emulator.extra_headers(request))

    def _read_request(self) -> RecordedRequest:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        lines = tuple(self.headers.items())
        headers: dict[str, str] = {}
        for name, value in lines:
            headers.setdefault(name.lower(), value)
        return RecordedRequest(
            method=self.command.upper(),
            path=parts.path,
            query=query,
            headers=headers,
            body=self._read_body(headers),
            raw_query=parts.query,
            header_lines=lines,
        )

    def _read_body(self, headers: dict[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # Trailers end with an empty line.
                    while self.rfile.readline().strip():
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(headers.get("content-length", "0") or "0")
        return self.rfile.read(length) if length > 0 else b""

    @staticmethod
    def _fault_response(fault: Fault) -> Response | None:
        if isinstance(fault, Status):
            if isinstance(fault.body, dict):
                return json_response(fault.status, fault.body, fault.headers)
            body = fault.body or b""
            headers = dict(fault.headers)
            if body and not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = JSON_CONTENT_TYPE
            return Response(fault.status, body, headers)
        if isinstance(fault, RawBody):
            return Response(fault.status, fault.body, {"Content-Type": fault.content_type})
        return None

    @staticmethod
    def _run_handler(emulator: EmulatorServer, request: RecordedRequest) -> Response:
        try:
            return emulator.handle(request)
        except Exception as exc:  # noqa: BLE001
            # An emulator bug should look like a server error to the client, with enough
            # in the body to debug it, rather than a dropped connection.
            payload = {"error": "emulator_failure", "detail": f"{type(exc).__name__}: {exc}"}
            return Response(500, json.dumps(payload).encode(), {"Content-Type": JSON_CONTENT_TYPE})

    def _send(self, response: Response, extra: dict[str, str]) -> None:
        self.send_response(response.status)
        merged = {**extra, **response.headers}
        for name, value in merged.items():
            if name.lower() not in {"content-length", "connection"}:
                self.send_header(name, value)
        if response.status not in (204, 304) and not 100 <= response.status < 200:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body and response.status not in (204, 304):
            self.wfile.write(response.body)
        self.wfile.flush()

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
