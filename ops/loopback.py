"""The one-shot loopback listener that receives the sign-in redirect (RFC 8252 section 7.3).

It binds before the sign-in URL is printed, so a busy port fails at once rather than after
the operator has signed in. `localhost` is served on every loopback address it may name
(127.0.0.1 and ::1): a browser may try either, and an address left free could be taken by
another local process that then receives the code. Only a request to the redirect path
carrying the `state` this command sent is an answer; anything else (a forged `?error=`
from a web page, a stale tab of an earlier sign-in) is answered with a neutral page and
the wait goes on. Requests are never logged: their query holds the code.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import secrets
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, cast
from urllib.parse import parse_qs, urlsplit, urlunsplit

from ops.errors import OpsError
from shared.settings import LOOPBACK_HOSTS

DEFAULT_REDIRECT_URI = "http://localhost:8400"
# A browser's idle speculative connection must not hold a handler thread for long.
_CONNECTION_TIMEOUT_S = 10.0
# The addresses `localhost` names wherever the machine has them, whatever the resolver says:
# browsers resolve localhost to loopback themselves, IPv6 first in some.
_LOCALHOST_ADDRESSES = ("127.0.0.1", "::1")
# The address family (or the address) is missing on this machine: nothing can take it.
_ABSENT = frozenset({errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL, errno.EPROTONOSUPPORT})
# Port 0: the free port picked on the first address may be taken on another one.
_FREE_PORT_ATTEMPTS = 10

_DONE_PAGE = (
    b"<!doctype html><meta charset=utf-8><title>Partner Center consent</title>"
    b"<p>The sign-in answer reached the consent command. Return to the terminal to see"
    b" the result; you may close this window.</p>"
)
_NOT_THIS_PAGE = b"<!doctype html><title>Not found</title><p>Not a sign-in answer.</p>"
_IGNORED_PAGE = (
    b"<!doctype html><meta charset=utf-8><title>Partner Center consent</title>"
    b"<p>This is not the sign-in answer the consent command is waiting for; it was ignored."
    b" If you are signing in, use the link the command printed.</p>"
)


@dataclass(frozen=True)
class Callback:
    """What the identity platform sent back in the redirect's query (its state matched)."""

    params: dict[str, str] = field(repr=False)

    @property
    def code(self) -> str | None:
        return self.params.get("code") or None

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


def same_state(received: str | None, expected: str) -> bool:
    """Constant-time comparison; any text, ASCII or not, may arrive in the query."""
    if received is None:
        return False
    return secrets.compare_digest(received.encode(), expected.encode())


class LoopbackListener:
    def __init__(self, redirect_uri: str, *, state: str) -> None:
        host, port, path = parse_redirect_uri(redirect_uri)
        self._path = path
        self._state = state
        self._received = threading.Event()
        self._callback: Callback | None = None
        self._ignored = 0
        self._lock = threading.Lock()
        self._servers = _bind_all(_addresses_of(host), port, self)
        self.addresses = tuple(str(server.server_address[0]) for server in self._servers)
        bound_port = int(self._servers[0].server_address[1])
        parts = urlsplit(redirect_uri)
        netloc = f"[{host}]" if host == "::1" else host
        # Port 0 asks for any free port; the redirect URI then names the one we got.
        self.redirect_uri = urlunsplit(("http", f"{netloc}:{bound_port}", parts.path, "", ""))
        self._threads = [
            threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"ops-loopback-listener-{address}",
                daemon=True,
            )
            for server, address in zip(self._servers, self.addresses, strict=True)
        ]

    @property
    def ignored(self) -> int:
        """How many requests to the redirect path carried another state (or none)."""
        with self._lock:
            return self._ignored

    def __enter__(self) -> Self:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        # Each shutdown waits for its loop's next poll: stop them side by side, not in turn.
        running = [s for s, t in zip(self._servers, self._threads, strict=True) if t.is_alive()]
        stoppers = [threading.Thread(target=server.shutdown) for server in running]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join(timeout=5)
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=5)
        for server in self._servers:
            server.server_close()

    def wait(self, timeout: float) -> Callback | None:
        """The answer with this command's state, or None when none came within `timeout` s."""
        if not self._received.wait(timeout):
            return None
        with self._lock:
            return self._callback

    def _deliver(self, path: str, params: dict[str, str]) -> int:
        """The HTTP status for a request: 200 for the answer, 400 ignored, 404 elsewhere."""
        if path != self._path:
            return 404
        with self._lock:
            # Checked before anything else: only this sign-in's answer may end the wait.
            if not same_state(params.get("state"), self._state):
                self._ignored += 1
                return 400
            if self._callback is None:
                self._callback = Callback(params)
        self._received.set()
        return 200


def _addresses_of(host: str) -> list[str]:
    """The loopback addresses to listen on for the redirect URI's host."""
    if host != "localhost":
        return [host]
    addresses = list(_LOCALHOST_ADDRESSES)
    # Any further loopback address the resolver gives localhost is served as well.
    for address in _resolve_localhost():
        try:
            loopback = ipaddress.ip_address(address).is_loopback
        except ValueError:  # a scoped IPv6 address (fe80::1%lo) is never loopback here
            continue
        if loopback and address not in addresses:
            addresses.append(address)
    return addresses


def _resolve_localhost() -> list[str]:
    try:
        resolved = socket.getaddrinfo("localhost", None, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return [str(sockaddr[0]) for *_, sockaddr in resolved]


def _bind_all(addresses: list[str], port: int, listener: LoopbackListener) -> list[_Server]:
    """A server on each address this machine has, all on one port; fails if one is taken."""
    attempts = _FREE_PORT_ATTEMPTS if port == 0 else 1
    for attempt in range(1, attempts + 1):
        servers: list[_Server] = []
        wanted = port
        try:
            for address in addresses:
                server = _bind_if_present(address, wanted, listener)
                if server is not None:
                    servers.append(server)
                    wanted = int(server.server_address[1])
        except OSError as exc:
            for server in servers:
                server.server_close()
            # Port 0: the port picked on the first address is taken on another; pick again.
            if port == 0 and servers and attempt < attempts:
                continue
            raise OpsError(_bind_failure(address, wanted, exc)) from None
        if not servers:
            raise OpsError(
                f"Cannot listen on {' or '.join(addresses)} for the sign-in redirect: this"
                " machine has none of these loopback addresses."
            )
        return servers
    raise AssertionError("unreachable: the last attempt returns or raises")


def _bind_if_present(address: str, port: int, listener: LoopbackListener) -> _Server | None:
    """The server on `address`, or None when the machine lacks that address (no IPv6)."""
    try:
        return _bind(address, port, listener)
    except OSError as exc:
        if exc.errno in _ABSENT:
            return None
        raise


def _bind(address: str, port: int, listener: LoopbackListener) -> _Server:
    server_class = _Server6 if ":" in address else _Server
    return server_class((address, port), _Handler, listener=listener)


def _bind_failure(host: str, port: int, exc: OSError) -> str:
    shown = f"[{host}]" if ":" in host else host
    if exc.errno in (errno.EADDRINUSE, errno.EACCES) or getattr(exc, "winerror", None) == 10048:
        reason = "the port is in use" if exc.errno != errno.EACCES else "permission denied"
        return (
            f"Cannot listen on {shown}:{port} for the sign-in redirect: {reason}. localhost"
            " is served on both 127.0.0.1 and ::1, since a browser may use either. Stop"
            " what uses it, or pass --redirect-uri http://localhost:<port> with a port that"
            " is also registered as a redirect URI of the app."
        )
    return f"Cannot listen on {shown}:{port} for the sign-in redirect ({type(exc).__name__})."


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

    def server_bind(self) -> None:
        # ::1 only, never IPv4-mapped addresses (moot on ::1, but say what is meant).
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        super().server_bind()


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
        status = listener._deliver(parts.path or "/", params)
        pages = {200: _DONE_PAGE, 400: _IGNORED_PAGE}
        self._answer(status, pages.get(status, _NOT_THIS_PAGE))

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
