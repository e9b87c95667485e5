"""A small stand-in for the Functions host, for running the app without Core Tools.

It indexes the app the way the Python worker does (`app.get_functions()`) and hands the
user function the worker's `func.HttpRequest`. Where a caller can tell, it answers as the
real host (ASP.NET Core routing in front of the worker's gRPC channel) does:

- HTTP triggers live under the `api` route prefix, matched case-insensitively, as are
  the literal parts of each route;
- a request whose method the route does not accept is answered 404, as an unknown
  route is (the host's routing treats the method as part of the match); a trigger that
  names no methods accepts every method;
- route values are percent-decoded once, except `%2F`, which stays as sent (Kestrel
  never decodes an encoded slash in the path);
- a query name or header that repeats reaches the function once, its values joined with
  a comma (`StringValues.ToString()`), and a blank value is kept: `?dryRun` -> `""`;
  query names and header names compare case-insensitively, first spelling wins;
- function keys come from the `x-functions-key` header or `?code=`, and `code` stays in
  `req.params`, as the host passes it on;
- an exception in the function is a bare 500.

It runs on the emulators' server (dev/emulators/base.py), with request recording off.
Queue triggers (the batch worker) are driven against Azurite by dev/queue_host.py, as the
host's queue extension drives them (polling, visibility timeout, dequeue count, poison
queue, host.json `extensions.queues`). It is dev tooling only: never deployed (see
.funcignore).
"""

from __future__ import annotations

import hmac
import re
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

import azure.functions as func

from dev.emulators.base import EmulatorServer
from dev.emulators.messages import RecordedRequest, Response
from shared.log import printable, quoted

ROUTE_PREFIX = "api"
_PARAMETER = re.compile(r"\{(\w+)(?::[^}]*)?\}")
_ENCODED_SLASH = re.compile(r"%2F", re.IGNORECASE)


@dataclass(frozen=True)
class HttpFunction:
    name: str
    pattern: re.Pattern[str]
    # Empty: the trigger names no methods, so it accepts every method.
    methods: frozenset[str]
    anonymous: bool
    argument: str
    handler: Callable[..., func.HttpResponse]

    def accepts(self, method: str) -> bool:
        return not self.methods or method in self.methods


def index_http_functions(app: func.FunctionApp) -> list[HttpFunction]:
    """The app's HTTP triggers, each with a regex for its route (called once per app)."""
    return http_functions(app.get_functions())


def http_functions(functions: Iterable[Any]) -> list[HttpFunction]:
    """The HTTP triggers among functions already indexed (`get_functions()` runs once per
    app, so a process that indexed the app already hands the result here)."""
    found = []
    for function in functions:
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
                methods=methods,
                anonymous=level == "anonymous",
                argument=str(trigger.name),
                handler=function.get_user_function(),
            )
        )
    return found


def _segment(part: str) -> str:
    parameter = _PARAMETER.fullmatch(part)
    return f"(?P<{parameter.group(1)}>[^/]+)" if parameter else re.escape(part)


def decode_path(raw: str) -> str:
    """Percent-decode once, leaving every `%2F` as sent (as Kestrel does)."""
    pieces = _ENCODED_SLASH.split(raw)
    slashes = _ENCODED_SLASH.findall(raw)
    decoded = [unquote(piece) for piece in pieces]
    return decoded[0] + "".join(s + d for s, d in zip(slashes, decoded[1:], strict=True))


def join_repeated(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """One entry per name (case-insensitive, first spelling kept), values comma-joined."""
    spelling: dict[str, str] = {}
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        key = name.lower()
        spelling.setdefault(key, name)
        values.setdefault(key, []).append(value)
    return {spelling[key]: ",".join(found) for key, found in values.items()}


def query_params(raw_query: str) -> dict[str, str]:
    pairs = parse_qsl(raw_query, keep_blank_values=True)
    return join_repeated((name, value) for name, value in pairs if name)


class LocalFunctionsHost(EmulatorServer):
    """Serves `functions` on 127.0.0.1:`port` (0: a free port) under `/api/`."""

    def __init__(
        self,
        functions: list[HttpFunction],
        key: str,
        *,
        port: int = 0,
        log: Callable[[str], None] | None = print,
    ) -> None:
        super().__init__(port=port)
        # Requests carry passwords, and a dev host may run for days: keep none.
        self.recording = False
        self.functions = functions
        self.function_key = key
        self._log = log

    def handle(self, request: RecordedRequest) -> Response:
        response = self._answer(request)
        if self._log is not None:
            # The method and path are the caller's text: quoted, so the line stays a line.
            method, path = quoted(request.method), quoted(request.path)
            self._log(f"local-host: {method} {path} -> {response.status}")
        return response

    def _answer(self, request: RecordedRequest) -> Response:
        prefix, slash, rest = request.path.lstrip("/").partition("/")
        if prefix.lower() != ROUTE_PREFIX or not slash:
            return Response(404)
        path = decode_path(rest)
        for function in self.functions:
            match = function.pattern.match(path)
            if match is None or not function.accepts(request.method):
                continue
            params = query_params(request.raw_query)
            headers = join_repeated(request.header_lines)
            if not function.anonymous and not self._key_ok(headers, params):
                return Response(401)
            return self._invoke(function, request, params, headers, match.groupdict())
        return Response(404)

    def _key_ok(self, headers: dict[str, str], params: dict[str, str]) -> bool:
        lowered = {name.lower(): value for name, value in headers.items()}
        # The host reads its key parameter in any letter case.
        code = next((v for k, v in params.items() if k.lower() == "code"), "")
        given = lowered.get("x-functions-key") or code
        return hmac.compare_digest(given.encode(), self.function_key.encode())

    def _invoke(
        self,
        function: HttpFunction,
        request: RecordedRequest,
        params: dict[str, str],
        headers: dict[str, str],
        route_params: dict[str, str],
    ) -> Response:
        query = f"?{request.raw_query}" if request.raw_query else ""
        http_request = func.HttpRequest(
            method=request.method,
            url=f"http://{request.header('host', 'localhost')}{request.path}{query}",
            headers=headers,
            params=params,
            route_params=route_params,
            body=request.body,
        )
        try:
            # The worker passes the trigger by its binding name, not by position.
            response = function.handler(**{function.argument: http_request})
        except Exception:  # noqa: BLE001 - the host turns any failure into a bare 500
            if self._log is not None:
                # Line by line, each escaped: an exception message may quote the request.
                lines = traceback.format_exc().rstrip("\n").split("\n")
                self._log(
                    "\n".join([f"local-host: {function.name} raised", *map(printable, lines)])
                )
            return Response(500)
        out = dict(response.headers.items())
        if response.mimetype and not any(name.lower() == "content-type" for name in out):
            charset = f"; charset={response.charset}" if response.charset else ""
            out["Content-Type"] = response.mimetype + charset
        out = {k: v for k, v in out.items() if k.lower() != "transfer-encoding"}
        return Response(response.status_code, response.get_body(), out)


__all__ = [
    "ROUTE_PREFIX",
    "HttpFunction",
    "LocalFunctionsHost",
    "decode_path",
    "http_functions",
    "index_http_functions",
    "join_repeated",
    "query_params",
]
