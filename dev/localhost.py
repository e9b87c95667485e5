"""A small stand-in for the Functions host, for running the app without Core Tools.

It indexes the app the way the Python worker does (`app.get_functions()`), serves each
HTTP trigger under the `api` route prefix, checks function keys like the host
(`x-functions-key` header or `?code=`), and hands the worker's `func.HttpRequest` to the
user function. It is dev tooling only: never deployed (see .funcignore).
"""

from __future__ import annotations

import hmac
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import azure.functions as func

ROUTE_PREFIX = "/api/"
_PARAMETER = re.compile(r"\{(\w+)(?::[^}]*)?\}")


@dataclass(frozen=True)
class HttpFunction:
    name: str
    pattern: re.Pattern[str]
    methods: frozenset[str]
    anonymous: bool
    handler: Callable[[func.HttpRequest], func.HttpResponse]


def index_http_functions(app: func.FunctionApp) -> list[HttpFunction]:
    """The app's HTTP triggers, each with a regex for its route (called once per app)."""
    found = []
    for function in app.get_functions():
        trigger: Any = function.get_trigger()
        if trigger is None or trigger.get_dict_repr().get("type") != "httpTrigger":
            continue
        route = str(trigger.route or function.get_function_name())
        regex = "^" + "/".join(_segment(part) for part in route.split("/")) + "/?$"
        methods = frozenset(str(getattr(m, "value", m)).upper() for m in trigger.methods or [])
        level = str(getattr(trigger.auth_level, "value", trigger.auth_level)).lower()
        found.append(
            HttpFunction(
                name=str(function.get_function_name()),
                pattern=re.compile(regex, re.IGNORECASE),
                methods=methods or frozenset({"GET", "POST"}),
                anonymous=level == "anonymous",
                handler=function.get_user_function(),
            )
        )
    return found


def _segment(part: str) -> str:
    parameter = _PARAMETER.fullmatch(part)
    return f"(?P<{parameter.group(1)}>[^/]+)" if parameter else re.escape(part)


class LocalFunctionsHost(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], functions: list[HttpFunction], key: str) -> None:
        super().__init__(address, _Handler)
        self.functions = functions
        self.function_key = key

    def serve_in_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="local-host", daemon=True)
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    server: LocalFunctionsHost
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        status = args[1] if len(args) > 1 else ""
        print(f"local-host: {self.command} {urlsplit(self.path).path} -> {status}")

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if not parts.path.startswith(ROUTE_PREFIX):
            self._send(404, b"", {})
            return
        path = parts.path[len(ROUTE_PREFIX) :]
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        for function in self.server.functions:
            match = function.pattern.match(path)
            if match is None:
                continue
            if self.command not in function.methods:
                self._send(405, b"", {})
                return
            if not function.anonymous and not self._key_ok(query):
                self._send(401, b"", {})
                return
            request = func.HttpRequest(
                method=self.command,
                url=f"http://{self.headers.get('Host', 'localhost')}{self.path}",
                headers=dict(self.headers.items()),
                params=query,
                route_params={k: unquote(v) for k, v in match.groupdict().items()},
                body=body,
            )
            response = function.handler(request)
            headers = dict(response.headers.items())
            if response.mimetype:
                charset = f"; charset={response.charset}" if response.charset else ""
                headers.setdefault("Content-Type", response.mimetype + charset)
            self._send(response.status_code, response.get_body(), headers)
            return
        self._send(404, b"", {})

    def _key_ok(self, query: dict[str, str]) -> bool:
        given = self.headers.get("x-functions-key") or query.get("code") or ""
        return hmac.compare_digest(given.encode(), self.server.function_key.encode())

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in {"content-length", "transfer-encoding"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
