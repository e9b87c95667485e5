"""The published API documents against the running function. Hypothesis makes requests,
valid and invalid, that go over loopback through the local host stand-in (dev/localhost.py)
to the function and the emulators behind it; the documents themselves are the oracle.

Hand-written specs test the values their authors thought of; these hold the function to
every value the documents allow. For the connector's Swagger 2.0 and the OpenAPI 3.0.3
and 3.1 documents alike: no answer is a 5xx, every answer's status, media type and body
are ones the document describes, and a request the document calls valid is never refused
with a 400 (the documents state every rule a schema can). A 404 for a customer or user that
does not exist is fine: most generated names name nobody.

Values come from broad strategies here, valid and invalid alike, and the documents judge
them; test_schemathesis.py has an off-the-shelf tester generate from the 3.0.3 document.

Examples follow the hypothesis profile (tests/conftest.py): HYPOTHESIS_PROFILE=deep runs
twenty times as many.
"""

from __future__ import annotations

import http.client
import json
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator, Draft202012Validator

from dev import openapi
from dev.emulators.samples import (
    NON_CUSTOMER_DOMAIN,
    SAMPLE_CUSTOM_DOMAIN,
    SAMPLE_CUSTOM_DOMAIN_USER_UPN,
    SAMPLE_CUSTOMER_DOMAIN,
    SAMPLE_CUSTOMER_ID,
    SAMPLE_GUEST_USER_UPN,
    SAMPLE_USER_ID,
    SAMPLE_USER_UPN,
)
from dev.localhost import LocalFunctionsHost
from reset_password.password_policy import SYMBOLS
from shared.field_names import shown_field
from tests.integration.conftest import FUNCTION_KEY

FULL = openapi.path_of("reset_password")
UPN_ONLY = openapi.path_of("reset_password_by_upn")
CREDENTIALS = openapi.path_of("credentials_health")
BATCH = openapi.path_of("reset_password_batch")
BATCH_STATUS = openapi.path_of("batch_status")
# The POSTs with a body, and every operation whose answers are judged here.
WITH_BODY = (FULL, UPN_ONLY, BATCH)
BATCH_ENTRY = re.compile(r"users\[[0-9]+\]")
PARAMETERISED = (*WITH_BODY, BATCH_STATUS)
JUDGED = (*PARAMETERISED, CREDENTIALS)
# One request per example, judged by both documents: about 2 s at the default profile.
EXAMPLES = max(20, settings().max_examples // 2)

# --- what the documents say ----------------------------------------------------------------


@dataclass
class Described:
    """One document's rules for the operations with a body, and its answers."""

    name: str
    validator: type[Draft4Validator] | type[Draft202012Validator]
    root: dict[str, Any]
    parameters: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)
    responses: dict[str, dict[str, tuple[tuple[str, ...], dict[str, Any] | None]]] = field(
        default_factory=dict
    )

    def valid(self, schema: Mapping[str, Any], value: object) -> bool:
        return bool(self.validator({**schema, **self.root}).is_valid(value))


def with_null_type(schema: Any, marker: str) -> Any:
    """Swagger 2.0 says "or null" with the x-nullable extension (Power Automate reads it),
    OpenAPI 3.0 with 'nullable'; JSON Schema, which judges the answers here, says it with a
    second type."""
    if isinstance(schema, list):
        return [with_null_type(item, marker) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: with_null_type(value, marker) for key, value in schema.items()}
    if out.get(marker) is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def only_operation(document: dict[str, Any], path: str) -> dict[str, Any]:
    (operation,) = document["paths"][path].values()
    assert isinstance(operation, dict)
    return operation


def swagger_2() -> Described:
    document = with_null_type(openapi.build_swagger("api_key"), "x-nullable")
    described = Described("swagger-2.0", Draft4Validator, {"definitions": document["definitions"]})
    for path in PARAMETERISED:
        operation = only_operation(document, path)
        params: dict[str, dict[str, Any]] = {}
        for p in operation["parameters"]:
            if p["in"] == "body":
                described.bodies[path] = p["schema"]
            else:
                params[p["name"]] = {
                    k: v
                    for k, v in p.items()
                    if k in {"type", "pattern", "minLength", "maxLength", "minimum", "maximum"}
                }
        described.parameters[path] = params
    for path in JUDGED:
        operation = only_operation(document, path)
        described.responses[path] = {
            status: (tuple(operation["produces"]), answer.get("schema"))
            for status, answer in operation["responses"].items()
        }
    return described


def openapi_3(version: openapi.OpenApiVersion) -> Described:
    if version == "3.0.3":
        document = with_null_type(openapi.build_openapi(version), "nullable")
        described = Described(
            "openapi-3.0", Draft4Validator, {"components": document["components"]}
        )
    else:
        document = openapi.build_openapi(version)
        described = Described(
            "openapi-3.1", Draft202012Validator, {"components": document["components"]}
        )
    for path in PARAMETERISED:
        operation = only_operation(document, path)
        described.parameters[path] = {p["name"]: p["schema"] for p in operation["parameters"]}
        if "requestBody" in operation:
            content = operation["requestBody"]["content"]
            described.bodies[path] = content["application/json"]["schema"]
    for path in JUDGED:
        operation = only_operation(document, path)
        described.responses[path] = {
            status: (tuple(content), next(iter(content.values()))["schema"] if content else None)
            for status, answer in operation["responses"].items()
            for content in [answer.get("content", {})]
        }
    return described


DOCUMENTS = (swagger_2(), openapi_3("3.0.3"), openapi_3("3.1.0"))


def body_properties(described: Described, path: str) -> dict[str, Any]:
    resolved = described.root.get("definitions") or described.root["components"]["schemas"]
    body_schema = resolved[described.bodies[path]["$ref"].rsplit("/", 1)[1]]
    properties: dict[str, Any] = body_schema["properties"]
    return properties


def fields_called_invalid(described: Described, request: Request) -> set[str]:
    """The fields of `request` that `described` calls invalid."""
    if request.path == BATCH:
        return batch_fields_called_invalid(described, request)
    if request.path == BATCH_STATUS:
        return status_fields_called_invalid(described, request)
    invalid: set[str] = set()
    params = described.parameters[request.path]
    for name, value in request.path_values.items():
        if not described.valid(params[name], value):
            invalid.add(name)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not described.valid(params["Idempotency-Key"], key):
        invalid.add("Idempotency-Key")
    dry_run = request.query.get("dryRun")
    if dry_run is not None and dry_run not in {"true", "false"}:
        invalid.add("dryRun")
    invalid |= {name for name in request.query if name not in params and name != "code"}
    body = request.body
    properties = body_properties(described, request.path)
    # A password or a delivery, never both (the OpenAPI documents say it with oneOf, the
    # connector in words), and a delivery without an Idempotency-Key (in words alone).
    if ("password" in body) == ("delivery" in body):
        invalid.add("password")
    if "delivery" in body and key is not None:
        invalid.add("Idempotency-Key")
    for name, value in body.items():
        if name not in properties or not described.valid(properties[name], value):
            invalid.add(name)
    return invalid


def batch_fields_called_invalid(described: Described, request: Request) -> set[str]:
    """The fields of a batch that `described` calls invalid: an entry as users[i]."""
    invalid = {
        name
        for name, value in request.path_values.items()
        if not described.valid(described.parameters[BATCH][name], value)
    }
    invalid |= {name for name in request.query if name != "code"}
    properties = body_properties(described, BATCH)
    body = request.body
    invalid |= {name for name in ("users", "delivery") if name not in body}
    for name, value in body.items():
        if name not in properties or not described.valid(properties[name], value):
            invalid.add(name)
    users = body.get("users")
    if "users" in invalid and isinstance(users, list):
        invalid |= {f"users[{index}]" for index in range(len(users))}
    # No user twice, without letter case: the descriptions say it, uniqueItems cannot.
    if isinstance(users, list):
        seen: set[str] = set()
        for index, user in enumerate(users):
            key = user.lower() if isinstance(user, str) else json.dumps(user)
            if key in seen:
                invalid.add(f"users[{index}]")
            seen.add(key)
    return invalid


def status_fields_called_invalid(described: Described, request: Request) -> set[str]:
    """A status request's query as `described` reads it: a page is a whole number."""
    params = described.parameters[BATCH_STATUS]
    invalid = {name for name in request.query if name not in params and name != "code"}
    page = request.query.get("page")
    if page is not None:
        number = int(page) if page.isdecimal() and page.isascii() else None
        if number is None or not described.valid(params["page"], number):
            invalid.add("page")
    return invalid


# --- requests ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    path: str
    path_values: dict[str, str]
    body: dict[str, Any]
    headers: dict[str, str]
    query: dict[str, str]
    method: str = "POST"

    def target(self) -> str:
        route = self.path
        for name, value in self.path_values.items():
            route = route.replace(f"{{{name}}}", quote(value, safe=""))
        query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in self.query.items())
        return f"/api{route}" + (f"?{query}" if query else "")


ATEXT = string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~"
LABEL = st.from_regex(r"\A[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?\Z")
# A path value is never empty, "." or "..": the host would answer for another route.
ANY_TEXT = st.text(min_size=1, max_size=24).filter(lambda text: text not in {".", ".."})


def guids() -> st.SearchStrategy[str]:
    return (
        st.uuids()
        .map(str)
        .flatmap(lambda guid: st.sampled_from([guid, guid.upper(), guid.title()]))
    )


def domains() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from([SAMPLE_CUSTOMER_DOMAIN, SAMPLE_CUSTOM_DOMAIN, NON_CUSTOMER_DOMAIN]),
        st.lists(LABEL, min_size=2, max_size=4).map(".".join),
    )


def upns() -> st.SearchStrategy[str]:
    local = st.lists(st.text(ATEXT, min_size=1, max_size=8), min_size=1, max_size=3).map(".".join)
    return st.one_of(
        st.sampled_from([SAMPLE_USER_UPN, SAMPLE_CUSTOM_DOMAIN_USER_UPN, SAMPLE_GUEST_USER_UPN]),
        st.builds(lambda name, domain: f"{name}@{domain}", local, domains()),
    )


def passwords() -> st.SearchStrategy[str]:
    entra = string.ascii_letters + string.digits + "".join(sorted(SYMBOLS)) + " "
    return st.one_of(
        st.text(entra, min_size=5, max_size=30).map(lambda rest: "Aa1!" + rest),
        st.text(entra, max_size=12),
        ANY_TEXT,
    )


def ticket_ids() -> st.SearchStrategy[str]:
    # The Basic Multilingual Plane: refused characters beyond it are the one rule a
    # portable regex cannot state (reset_password/models.py says why).
    return st.one_of(
        st.from_regex(r"\A[A-Z]{3}[0-9]{1,8}\Z"),
        st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"]), max_size=70),
    )


@st.composite
def requests_(draw: st.DrawFn) -> Request:
    if draw(st.booleans()):
        path = FULL
        values = {
            "customer": draw(st.one_of(st.just(SAMPLE_CUSTOMER_ID), guids(), domains(), ANY_TEXT)),
            "user": draw(st.one_of(st.just(SAMPLE_USER_ID), guids(), upns(), ANY_TEXT)),
        }
    else:
        path = UPN_ONLY
        values = {"user": draw(st.one_of(upns(), guids(), ANY_TEXT))}
    body: dict[str, Any] = {}
    if draw(st.integers(0, 9)):
        body["password"] = draw(passwords())
    optional = {
        "delivery": st.sampled_from(["link", "none", "Link", "email"]),
        "requestedBy": ticket_ids(),
        "forceChangePassword": st.booleans(),
        "ticketId": ticket_ids(),
        "revokeSessions": st.booleans(),
        "extra": st.integers(),
    }
    for name, strategy in optional.items():
        if draw(st.integers(0, 3)) == 0:
            body[name] = draw(strategy)
    _drop_copied_password(body)
    headers = {}
    if draw(st.booleans()):
        printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=130)
        headers["Idempotency-Key"] = draw(printable.filter(lambda key: key.strip() == key))
    query = draw(
        st.sampled_from([{}, {}, {"dryRun": "true"}, {"dryRun": "false"}, {"dryRun": "yes"}])
    )
    return Request(path, values, body, headers, query)


def _drop_copied_password(body: dict[str, Any]) -> None:
    """A text field holding the password is refused, a rule the documents state in words
    (no schema can): such a request is not one they call valid."""
    password = body.get("password")
    for name in ("ticketId", "requestedBy"):
        value = body.get(name)
        copied = isinstance(password, str) and isinstance(value, str)
        if copied and str(password).casefold() in str(value).casefold():
            del body[name]


@st.composite
def batch_requests(draw: st.DrawFn) -> Request:
    """A batch, valid or not: its entries as for a single reset's {user}, now and then a
    repeat in another letter case (a rule the documents state in words)."""
    customer = draw(st.one_of(st.just(SAMPLE_CUSTOMER_ID), guids(), domains(), ANY_TEXT))
    entries = st.one_of(st.just(SAMPLE_USER_ID), guids(), upns(), ANY_TEXT, st.integers())
    users: list[Any] = draw(st.lists(entries, max_size=4))
    if users and isinstance(users[0], str) and draw(st.integers(0, 5)) == 0:
        users.append(users[0].upper())
    body: dict[str, Any] = {}
    if draw(st.integers(0, 9)):
        body["users"] = users
    if draw(st.integers(0, 9)):
        body["delivery"] = draw(st.sampled_from(["link", "none", "Link", "email"]))
    optional = {
        "requestedBy": ticket_ids(),
        "ticketId": ticket_ids(),
        "revokeSessions": st.booleans(),
        "password": passwords(),
        "extra": st.integers(),
    }
    for name, strategy in optional.items():
        if draw(st.integers(0, 3)) == 0:
            body[name] = draw(strategy)
    query = draw(st.sampled_from([{}, {}, {}, {"dryRun": "true"}]))
    return Request(BATCH, {"customer": customer}, body, {}, query)


@st.composite
def status_requests(draw: st.DrawFn) -> Request:
    """A status read of a batch nobody made (every caller's batch ID is a fresh GUID)."""
    batch_id = draw(st.one_of(guids(), ANY_TEXT))
    query = draw(
        st.sampled_from(
            [{}, {"page": "1"}, {"page": "5"}, {"page": "0"}, {"page": "x"}, {"s": "1"}]
        )
    )
    return Request(BATCH_STATUS, {"batchId": batch_id}, {}, {}, query, method="GET")


# --- the run ---------------------------------------------------------------------------------


def send(host: LocalFunctionsHost, request: Request) -> tuple[int, str, Any]:
    if request.method == "GET":
        return get(host, request.target())
    connection = http.client.HTTPConnection("127.0.0.1", host.port, timeout=30)
    try:
        connection.putrequest("POST", request.target(), skip_accept_encoding=True)
        raw = json.dumps(request.body).encode()
        headers = {
            "x-functions-key": FUNCTION_KEY,
            "Content-Type": "application/json",
            "Content-Length": str(len(raw)),
            **request.headers,
        }
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders(raw)
        response = connection.getresponse()
        content = response.read()
        media_type = (response.getheader("Content-Type") or "").split(";")[0].strip()
        return response.status, media_type, json.loads(content) if content else None
    finally:
        connection.close()


def disagreements(
    described: Described, request: Request, answer: tuple[int, str, Any]
) -> list[str]:
    status, media_type, body = answer
    found = []
    documented = described.responses[request.path]
    if status >= 500:
        found.append(f"answered {status}")
    if str(status) not in documented:
        found.append(f"answered {status}, which the document does not describe")
        return found
    media_types, schema = documented[str(status)]
    if media_type not in media_types:
        found.append(f"answered {status} as {media_type}, not one of {media_types}")
    if schema is not None and not described.valid(schema, body):
        found.append(f"answered {status} with a body the document does not describe: {body}")
    # As an answer names them: a name that is not plainly a name is "(unknown field)",
    # a batch's entry is users[i].
    invalid = {
        name if BATCH_ENTRY.fullmatch(name) else shown_field(name)
        for name in fields_called_invalid(described, request)
    }
    if status == 400:
        reported = {e["field"] for e in (body or {}).get("errors", [])}
        unexplained = reported - invalid - {"body"}
        if not invalid or unexplained:
            found.append(
                f"refused {sorted(unexplained or reported)}, which the document calls valid"
            )
    return found


def test_every_answer_is_one_the_documents_describe_and_valid_requests_are_accepted(
    host: LocalFunctionsHost,
) -> None:
    judge_every_answer(host, requests_())


def test_every_batch_answer_is_one_the_documents_describe_and_valid_batches_are_accepted(
    host: LocalFunctionsHost,
) -> None:
    # Valid batches are queued in Azurite and never run: the host here serves HTTP alone.
    judge_every_answer(host, st.one_of(batch_requests(), status_requests()))


def judge_every_answer(host: LocalFunctionsHost, drawn: st.SearchStrategy[Request]) -> None:
    """Each drawn request sent to the host; its answer judged by all three documents."""

    @given(request=drawn)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def exercise(request: Request) -> None:
        answer = send(host, request)
        problems = [
            f"{described.name}: {problem}"
            for described in DOCUMENTS
            for problem in disagreements(described, request, answer)
        ]
        assert not problems, f"{request}\n" + "\n".join(problems)

    exercise()


def test_a_slash_in_a_upn_sent_as_percent_2f_is_read_as_a_slash(
    host: LocalFunctionsHost,
) -> None:
    # The documents allow '/' in a UPN; the host never decodes %2F in a route value.
    request = Request(UPN_ONLY, {"user": "a/b@contoso.com"}, {"password": "Aa1!aaaa"}, {}, {})
    status, _, body = send(host, request)
    assert status == 404, body
    assert body["code"] == "user_not_found"


def test_every_document_describes_every_route_the_app_serves(app_functions: list[Any]) -> None:
    triggers = [f.get_trigger() for f in app_functions]
    routes = {f"/{trigger.route}" for trigger in triggers if getattr(trigger, "route", None)}
    # The one-time link routes serve a person's browser, not a flow: the connector (Swagger
    # 2.0) leaves them out, the OpenAPI documents describe them.
    for name in openapi.DOCUMENTS:
        served = routes - set(openapi.LINK_PATHS) if name in openapi.VARIANTS else routes
        paths = set(openapi.build_document(name)["paths"])
        assert served <= paths, (name, sorted(served - paths))


def get(host: LocalFunctionsHost, target: str) -> tuple[int, str, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", host.port, timeout=30)
    try:
        connection.request("GET", target, headers={"x-functions-key": FUNCTION_KEY})
        response = connection.getresponse()
        content = response.read()
        media_type = (response.getheader("Content-Type") or "").split(";")[0].strip()
        return response.status, media_type, json.loads(content) if content else None
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("query", "valid"),
    [
        ("", True),
        ("?probe=true", True),
        ("?probe=FALSE", True),
        ("?probe=yes", False),
        ("?probe=", False),
        ("?probe=true&probe=true", False),
        ("?Probe=true", False),
    ],
)
def test_every_credentials_answer_is_one_the_documents_describe(
    host: LocalFunctionsHost, query: str, valid: bool
) -> None:
    status, media_type, body = get(host, f"/api{CREDENTIALS}{query}")
    for described in DOCUMENTS:
        documented = described.responses[CREDENTIALS]
        assert str(status) in documented, (described.name, status, body)
        media_types, schema = documented[str(status)]
        assert media_type in media_types, (described.name, media_type)
        assert schema is not None
        assert described.valid(schema, body), (described.name, body)
    assert (status == 400) == (not valid), body
