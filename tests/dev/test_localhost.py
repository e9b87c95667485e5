"""dev/localhost.py answers like the Functions host wherever a caller could tell.

Each test sends one raw HTTP request (http.client, so nothing re-encodes the URL or
merges headers) to the stand-in serving a tiny app, and reads back what the function saw.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator, Sequence
from typing import Any

import azure.functions as func
import pytest

from dev.emulators.messages import RecordedRequest
from dev.localhost import LocalFunctionsHost, index_http_functions

KEY = "test-function-key"


def _seen(req: func.HttpRequest) -> func.HttpResponse:
    payload = {
        "method": req.method,
        "params": dict(req.params),
        "route": dict(req.route_params),
        "headers": dict(req.headers),
        "body": req.get_body().decode(),
    }
    return func.HttpResponse(json.dumps(payload), mimetype="application/json")


def tiny_app() -> func.FunctionApp:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

    @app.route(route="items/{item}", methods=["GET"])
    def item(req: func.HttpRequest) -> func.HttpResponse:
        return _seen(req)

    @app.route(route="open", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
    def open_door(req: func.HttpRequest) -> func.HttpResponse:
        return _seen(req)

    @app.route(route="any")
    def any_method(req: func.HttpRequest) -> func.HttpResponse:
        return _seen(req)

    @app.route(route="broken", methods=["GET"], trigger_arg_name="request")
    def broken(request: func.HttpRequest) -> func.HttpResponse:
        raise RuntimeError("bug in the function")

    return app


@pytest.fixture(scope="module")
def host() -> Iterator[LocalFunctionsHost]:
    with LocalFunctionsHost(index_http_functions(tiny_app()), KEY, log=None) as server:
        yield server


def call(
    host: LocalFunctionsHost,
    target: str,
    *,
    method: str = "GET",
    headers: Sequence[tuple[str, str]] = (("x-functions-key", KEY),),
    body: bytes = b"",
) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", host.port, timeout=5)
    try:
        conn.putrequest(method, target)
        for name, value in headers:
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        conn.close()


def test_serves_on_loopback_only(host: LocalFunctionsHost) -> None:
    assert host.url.startswith("http://127.0.0.1:")


def test_repeated_query_values_are_joined_with_a_comma(host: LocalFunctionsHost) -> None:
    _, seen = call(host, "/api/items/1?dryRun=true&dryRun=false")
    assert seen["params"]["dryRun"] == "true,false"


def test_query_names_repeat_across_case_into_the_first_spelling(
    host: LocalFunctionsHost,
) -> None:
    _, seen = call(host, "/api/items/1?dryRun=true&DRYRUN=false")
    assert seen["params"] == {"dryRun": "true,false"}


def test_a_query_name_without_a_value_is_kept_blank(host: LocalFunctionsHost) -> None:
    _, seen = call(host, "/api/items/1?dryRun")
    assert seen["params"] == {"dryRun": ""}


def test_query_values_are_percent_and_plus_decoded(host: LocalFunctionsHost) -> None:
    _, seen = call(host, "/api/items/1?note=a+b%2Cc")
    assert seen["params"]["note"] == "a b,c"


def test_repeated_headers_are_joined_with_a_comma(host: LocalFunctionsHost) -> None:
    _, seen = call(
        host, "/api/items/1", headers=[("x-functions-key", KEY), ("X-Tag", "a"), ("x-tag", "b")]
    )
    assert seen["headers"]["x-tag"] == "a,b"


def test_an_encoded_slash_in_a_route_value_stays_encoded(host: LocalFunctionsHost) -> None:
    status, seen = call(host, "/api/items/a%2Fb")
    assert status == 200
    assert seen["route"] == {"item": "a%2Fb"}


def test_other_escapes_in_a_route_value_are_decoded_once(host: LocalFunctionsHost) -> None:
    _, seen = call(host, "/api/items/caf%C3%A9%20x%2541")
    assert seen["route"] == {"item": "café x%41"}


def test_the_api_prefix_matches_in_any_case(host: LocalFunctionsHost) -> None:
    status, seen = call(host, "/API/items/1")
    assert status == 200
    assert seen["route"] == {"item": "1"}


def test_route_literals_match_in_any_case(host: LocalFunctionsHost) -> None:
    assert call(host, "/api/ITEMS/1")[0] == 200


def test_a_path_outside_the_prefix_is_404(host: LocalFunctionsHost) -> None:
    assert call(host, "/items/1")[0] == 404


def test_an_unknown_route_is_404(host: LocalFunctionsHost) -> None:
    assert call(host, "/api/nothing-here")[0] == 404


def test_a_wrong_method_on_an_existing_route_is_404(host: LocalFunctionsHost) -> None:
    assert call(host, "/api/items/1", method="POST")[0] == 404


def test_a_trigger_naming_no_methods_accepts_any_method(host: LocalFunctionsHost) -> None:
    status, seen = call(host, "/api/any", method="PATCH", body=b"payload")
    assert status == 200
    assert (seen["method"], seen["body"]) == ("PATCH", "payload")


def test_the_function_key_header_is_accepted(host: LocalFunctionsHost) -> None:
    assert call(host, "/api/items/1")[0] == 200


def test_the_code_parameter_is_accepted_and_stays_in_params(host: LocalFunctionsHost) -> None:
    status, seen = call(host, f"/api/items/1?code={KEY}&x=1", headers=())
    assert status == 200
    assert seen["params"] == {"code": KEY, "x": "1"}


def test_the_code_parameter_is_read_in_any_letter_case(host: LocalFunctionsHost) -> None:
    assert call(host, f"/api/items/1?Code={KEY}", headers=())[0] == 200


def test_a_missing_key_is_401(host: LocalFunctionsHost) -> None:
    assert call(host, "/api/items/1", headers=()) == (401, None)


def test_a_wrong_key_is_401(host: LocalFunctionsHost) -> None:
    assert call(host, "/api/items/1", headers=[("x-functions-key", "nope")]) == (401, None)


def test_an_anonymous_route_needs_no_key(host: LocalFunctionsHost) -> None:
    assert call(host, "/api/open", headers=())[0] == 200


def test_a_function_that_raises_is_a_bare_500(host: LocalFunctionsHost) -> None:
    assert call(host, "/api/broken") == (500, None)


def test_requests_are_not_kept(host: LocalFunctionsHost) -> None:
    call(host, "/api/items/1")
    assert host.requests == []


def test_the_request_line_is_logged_as_one_printable_line() -> None:
    """The method and path are the caller's: quoted, so a control character in them (an
    escape sequence, a NEL) cannot forge or repaint the console's lines."""
    lines: list[str] = []
    host = LocalFunctionsHost(index_http_functions(tiny_app()), KEY, log=lines.append)
    host.handle(RecordedRequest("GET\x1b[2K", "/api/x\x85INFO forged\u2028", {}, {}, b""))
    [line] = lines
    assert line.isprintable()
    assert line == 'local-host: "GET\\u001b[2K" "/api/x\\u0085INFO forged\\u2028" -> 404'
