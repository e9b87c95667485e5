"""The one-shot loopback listener that receives the sign-in redirect (RFC 8252 section 7.3).

It binds before the sign-in URL is printed, so a busy port fails at once rather than after
the operator has signed in, takes the first request to the redirect path that carries a
`code` or an `error`, and stops. Requests are never logged: their query holds the code.
"""

from __future__ import annotations

import errno
import os
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, cast
from urllib.parse import parse_qs, urlsplit, urlunsplit

from ops.errors import OpsError
from ops.settings import LOOPBACK_HOSTS

DEFAULT_REDIRECT_URI = "http://localhost:8400"
# A browser's idle speculative connection must not hold a handler thread for long.
_CONNECTION_TIMEOUT_S = 10.0

_DONE_PAGE = (
    b"<!doctype html><meta charset=utf-8><title>Partner Center consent</title>"
    b"<p>The sign-in answer reached the consent command. Return to the terminal to see"
    b" the result; you may close this window.</p>"
)
_NOT_THIS_PAGE = b"<!doctype html><title>Not found</title><p>Not a sign-in answer.</p>"


@dataclass(frozen=True)
class Callback:
    """What the identity platform sent back in the redirect's query."""

    params: dict[str, str] = field(repr=False)

    @property
    def code(self) -> str | None:
        return self.params.get("code") or None

    @property
    def state(self) -> str | None:
        return self.params.get("state")

    @property
    def error(self) -> str | None:
        return self.params.get("error") or None

    @property
    def error_description(self) -> str:
        return self.params.get("error_description", "")


def parse_redirect_uri(value: str) -> tuple[str, int, str]:
    """(host, port, path) of an http loopback redirect URI."""
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    if parts.scheme != "http" or host not in LOOPBACK_HOSTS:
        raise OpsError(
            "--redirect-uri must be an http URI on localhost, 127.0.0.1 or [::1],"
            f" such as {DEFAULT_REDIRECT_URI}."
        )
    if parts.query or parts.fragment:
        raise OpsError("--redirect-uri must not carry a query or a fragment.")
    try:
        port = parts.port if parts.port is not None else 80
    except ValueError:
        raise OpsError("--redirect-uri has an invalid port.") from None
    return host, port, parts.path or "/"


class LoopbackListener:
    def __init__(self, redirect_uri: str) -> None:
        host, port, path = parse_redirect_uri(redirect_uri)
        self._path = path
        self._received = threading.Event()
        self._callback: Callback | None = None
        self._lock = threading.Lock()
        bind_host = "::1" if host == "::1" else "127.0.0.1"
        server_class = _Server6 if bind_host == "::1" else _Server
        try:
            self._server = server_class((bind_host, port), _Handler, listener=self)
        except OSError as exc:
            raise OpsError(_bind_failure(bind_host, port, exc)) from None
        bound_port = int(self._server.server_address[1])
        parts = urlsplit(redirect_uri)
        netloc = f"[{host}]" if host == "::1" else host
        # Port 0 asks for any free port; the redirect URI then names the one we got.
        self.redirect_uri = urlunsplit(("http", f"{netloc}:{bound_port}", parts.path, "", ""))
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="ops-loopback-listener",
            daemon=True,
        )

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def wait(self, timeout: float) -> Callback | None:
        """The sign-in answer, or None when none came within `timeout` seconds."""
        if not self._received.wait(timeout):
            return None
        with self._lock:
            return self._callback

    def _deliver(self, path: str, params: dict[str, str]) -> bool:
        """Keep the first answer on the redirect path; False for anything else."""
        if path != self._path or not ("code" in params or "error" in params):
            return False
        with self._lock:
            if self._callback is None:
                self._callback = Callback(params)
        self._received.set()
        return True


def _bind_failure(host: str, port: int, exc: OSError) -> str:
    if exc.errno in (errno.EADDRINUSE, errno.EACCES) or getattr(exc, "winerror", None) == 10048:
        reason = "the port is in use" if exc.errno != errno.EACCES else "permission denied"
        return (
            f"Cannot listen on {host}:{port} for the sign-in redirect: {reason}. Stop what"
            " uses it, or pass --redirect-uri http://localhost:<port> with a port that is"
            " also registered as a redirect URI of the app."
        )
    return f"Cannot listen on {host}:{port} for the sign-in redirect ({type(exc).__name__})."


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # On Windows SO_REUSEADDR would let a second process take the port; elsewhere it
    # only allows rebinding over a previous run's TIME_WAIT connections.
    allow_reuse_address = os.name != "nt"

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        *,
        listener: LoopbackListener,
    ) -> None:
        self.listener = listener
        super().__init__(address, handler)


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    timeout = _CONNECTION_TIMEOUT_S
    server_version = "ops-consent"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        # The default writes each request line to stderr, authorization code included.
        del format, args

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        listener = cast(_Server, self.server).listener
        if listener._deliver(parts.path or "/", params):
            self._answer(200, _DONE_PAGE)
        else:
            self._answer(404, _NOT_THIS_PAGE)

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        # The page's URL carries the code: keep it out of caches and Referer headers.
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True
