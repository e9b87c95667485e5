"""The published documents' `pattern`s: portable, and never looser than the function.

Portable: every pattern of every document stays in JSON Schema's interoperable regex
subset (no look-around, no back-references, no class escapes), so every generator and
validator reads it alike; a generator that meets a look-ahead can only guess and filter.
Never looser: any value a document's schema admits (pattern and lengths together) is one
the function accepts, drawn from the pattern itself; a pattern may leave out values the
function accepts, and its description states the full rule.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import azure.functions as func
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dev import api_patterns, api_schemas, openapi
from dev.emulators.samples import SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID, SAMPLE_USER_UPN
from reset_batches.request import parse_batch_order
from reset_batches.status import parse_batch_id
from reset_password.names import parse_customer, parse_user
from reset_password.request import PathValues, parse_reset_order
from secret_links.crypto import is_link_id
from shared.errors import InvalidRequest
from tests.budget import examples

RESET = openapi.path_of("reset_password")
UPN_ONLY = openapi.path_of("reset_password_by_upn")
BATCH = openapi.path_of("reset_password_batch")
BATCH_STATUS = openapi.path_of("batch_status")
PASSWORD = "Correct-Horse-42"


def load(name: openapi.Document) -> dict[str, Any]:
    value = json.loads(openapi.OUTPUT_FILES[name].read_text(encoding="utf-8"))
    assert isinstance(value, dict)
    return value


DOCUMENTS = {name: load(name) for name in openapi.DOCUMENTS}


# --- the subset -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern",
    [
        "^abc$",
        "^(a|b)+c?d*$",
        "^[a-z0-9\\-\\]\\[\\\\\\^]{1,3}x{2}y{2,}z{0,5}?$",
        "^[^a-z]+?$",
        "^\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\/\\-\\^\\$\\\\$",
        "^.$",
        "^(([a])(b))$",
        "^é[ä-ö]$",
        "",
    ],
)
def test_the_checker_accepts_the_subset(pattern: str) -> None:
    assert api_patterns.outside_subset(pattern) is None


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("^(?=.*[a-z]).*$", "'(?' group"),
        ("^(?!x).*$", "'(?' group"),
        ("^(?<=a)b$", "'(?' group"),
        ("^(?<!a)b$", "'(?' group"),
        ("^(?:ab)+$", "'(?' group"),
        ("^(?<name>a)$", "'(?' group"),
        ("^(a)\\1$", "escape '\\1'"),
        ("^\\d+$", "escape '\\d'"),
        ("^[\\w]+$", "escape '\\w'"),
        ("^\\p{L}+$", "escape '\\p'"),
        ("^\\u0041$", "escape '\\u'"),
        ("^[\\x20-\\x7e]$", "escape '\\x'"),
        ("^\\bword$", "escape '\\b'"),
        ("^a{3,1}$", "m below n"),
        ("^a{,3}$", "malformed"),
        ("^a**$", "quantifier of a quantifier"),
        ("^*a$", "quantified anchor"),
        ("^+$", "quantified anchor"),
        ("*a", "nothing to repeat"),
        ("^[a-]$", "unescaped '-'"),
        ("^[[a]$", "unescaped '['"),
        ("^[]$", "empty class"),
        ("^[z-a]$", "backwards"),
        ("^a]$", "unescaped ']'"),
        ("^(a$", "unclosed group"),
        ("^a)$", "unbalanced"),
        ("^[a$", "unclosed class"),
        ("^a\\", "trailing backslash"),
        ("^\U0001f600$", "U+1F600"),
        ("^[\ud800-\udbff]$", "U+D800"),
    ],
)
def test_the_checker_refuses_what_engines_read_differently(pattern: str, reason: str) -> None:
    found = api_patterns.outside_subset(pattern)
    assert found is not None
    assert reason in found


def every_pattern() -> list[tuple[str, str, str]]:
    return [
        (name, where, pattern)
        for name, document in DOCUMENTS.items()
        for where, pattern in openapi.iter_patterns(document)
    ]


@pytest.mark.parametrize(("document", "where", "pattern"), every_pattern())
def test_every_pattern_of_every_document_is_in_the_interoperable_subset(
    document: str, where: str, pattern: str
) -> None:
    assert api_patterns.outside_subset(pattern) is None, f"{document} {where}"


def test_the_generator_refuses_a_pattern_outside_the_subset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(api_patterns, "customer_pattern", lambda: "^(?=c)contoso\\.com$")
    with pytest.raises(api_schemas.SchemaConversionError, match=r"customer.*'\(\?' group"):
        openapi.build_document("openapi30")


# --- never looser than the function -----------------------------------------------------


def refused_fields(
    path: str,
    *,
    customer: str = SAMPLE_CUSTOMER_ID,
    user: str | None = None,
    headers: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
) -> set[str]:
    """The fields the function's request parsing refuses, for a request that is valid
    apart from the value under test."""
    upn_only = path == UPN_ONLY
    route = {"user": user or (SAMPLE_USER_UPN if upn_only else SAMPLE_USER_ID)}
    if not upn_only:
        route["customer"] = customer
    request = func.HttpRequest(
        method="POST",
        url="http://localhost/api"
        + path.format(**{k: quote(v, safe="") for k, v in route.items()}),
        headers={"Content-Type": "application/json", **(headers or {})},
        params={},
        route_params=route,
        body=json.dumps({"password": PASSWORD, **(body or {})}).encode(),
    )
    try:
        parse_reset_order(request, PathValues.of(request), upn_only=upn_only)
    except InvalidRequest as error:
        return {e["field"] for e in error.errors or []}
    return set()


Acceptor = Callable[[str, str], set[str]]


def batch_refused_fields(
    *, customer: str = SAMPLE_CUSTOMER_ID, body: dict[str, Any] | None = None
) -> set[str]:
    """The fields the batch's request parsing refuses, for a batch that is valid apart
    from the value under test."""
    request = func.HttpRequest(
        method="POST",
        url=f"http://localhost/api{BATCH.format(customer=quote(customer, safe=''))}",
        headers={"Content-Type": "application/json"},
        params={},
        route_params={"customer": customer},
        body=json.dumps({"users": [SAMPLE_USER_ID], "delivery": "none", **(body or {})}).encode(),
    )
    try:
        parse_batch_order(request)
    except InvalidRequest as error:
        return {e["field"] for e in error.errors or []}
    return set()


def body_field(name: str) -> Acceptor:
    """A body field as the route of `path` reads it: a single reset's or a batch's."""
    return lambda path, value: (
        batch_refused_fields(body={name: value})
        if path == BATCH
        else refused_fields(path, body={name: value})
    )


# Where each pattern is, and how the function reads the value it describes.
ACCEPTORS: dict[str, Acceptor] = {
    "customer": lambda path, value: (
        batch_refused_fields(customer=value)
        if path == BATCH
        else refused_fields(path, customer=value)
    ),
    "user": lambda path, value: refused_fields(path, user=value),
    "Idempotency-Key": lambda path, value: refused_fields(path, headers={"Idempotency-Key": value}),
    "password": lambda path, value: refused_fields(path, body={"password": value}),
    "ticketId": body_field("ticketId"),
    "requestedBy": body_field("requestedBy"),
    # A batch's entry is read alone: the fields refused name it users[0].
    "users[]": lambda path, value: batch_refused_fields(body={"users": [value]}),
    # A link ID or a batch ID the function does not read as one names nothing: a 404.
    "linkId": lambda path, value: set() if is_link_id(value) else {"linkId"},
    "batchId": lambda path, value: set() if parse_batch_id(value) else {"batchId"},
}


def string_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The string branch's keywords with the schema's own: 3.1 says "or null" with anyOf."""
    branches = [b for b in schema.get("anyOf", []) if b.get("type") == "string"]
    return {**(branches[0] if branches else {}), **schema}


def described_values() -> list[tuple[str, str, str, dict[str, Any]]]:
    """(document, path, name, schema) for every parameter and body field with a pattern."""
    found: list[tuple[str, str, str, dict[str, Any]]] = []
    for name, document in DOCUMENTS.items():
        for path in (RESET, UPN_ONLY, BATCH, BATCH_STATUS, *openapi.LINK_PATHS):
            for operation in document["paths"].get(path, {}).values():
                for parameter in operation["parameters"]:
                    schema = parameter.get("schema", parameter)
                    if "pattern" in schema:
                        found.append((name, path, parameter["name"], string_schema(schema)))
        schemas = document.get("definitions") or document["components"]["schemas"]
        for field, schema in schemas["ResetPasswordBody"]["properties"].items():
            if "pattern" in schema:
                found.append((name, RESET, field, string_schema(schema)))
        for field, schema in schemas["ResetPasswordsBatchBody"]["properties"].items():
            if "pattern" in schema:
                found.append((name, BATCH, field, string_schema(schema)))
            if "pattern" in schema.get("items", {}):
                found.append((name, BATCH, f"{field}[]", schema["items"]))
    return found


_RULES = ("pattern", "minLength", "maxLength")


def distinct_rules() -> list[tuple[str, str, dict[str, Any]]]:
    """Each (path, name) once: every document states the same rules (spec below)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for _, path, name, schema in described_values():
        found.setdefault((path, name), {k: schema[k] for k in _RULES if k in schema})
    return [(path, name, rules) for (path, name), rules in found.items()]


def test_every_pattern_is_held_to_the_function() -> None:
    counted = sum(
        1 for _, where, _ in every_pattern() if "/parameters/" in where or "Body" in where
    )
    assert len(described_values()) == counted
    assert {name for _, _, name, _ in described_values()} == set(ACCEPTORS)


def test_every_document_states_the_same_rules() -> None:
    rules = {
        (document, path, name): {k: schema[k] for k in _RULES if k in schema}
        for document, path, name, schema in described_values()
    }
    for (document, path, name), stated in rules.items():
        assert stated == rules[("openapi30", path, name)], f"{document} {path} {name}"


def admitted(rules: dict[str, Any]) -> st.SearchStrategy[str]:
    """Values the rules admit: drawn from the pattern, within the lengths."""
    low, high = rules.get("minLength", 0), rules.get("maxLength")
    return st.from_regex(rules["pattern"], fullmatch=True).filter(
        lambda value: low <= len(value) and (high is None or len(value) <= high)
    )


@pytest.mark.parametrize(
    ("path", "name", "rules"),
    distinct_rules(),
    ids=[f"{path}-{name}" for path, name, _ in distinct_rules()],
)
def test_every_value_a_pattern_admits_is_accepted_by_the_function(
    path: str, name: str, rules: dict[str, Any]
) -> None:
    # One run per pattern (a dozen): a quarter of the profile's examples each.
    @settings(max_examples=examples(0.25))
    @given(admitted(rules))
    def check(value: str) -> None:
        assert ACCEPTORS[name](path, value) == set(), f"{name} {value!r}"

    check()


def test_every_character_the_ticket_pattern_names_is_one_the_function_accepts() -> None:
    one = re.compile(f"[{api_patterns.ticket_id_pattern()[2:-3]}]")
    named = [chr(code) for code in range(0x10000) if one.fullmatch(chr(code))]
    chunks = ["".join(named[i : i + 64]) for i in range(0, len(named), 64)]
    assert [c for c in chunks if refused_fields(RESET, body={"ticketId": c})] == []
    # Besides the noncharacters, only what the function refuses is left out, and the
    # surrogates, which are no characters.
    named_set = set(named)
    left_out = {
        unicodedata.category(chr(code))
        for code in range(0x10000)
        if chr(code) not in named_set and not 0xFDD0 <= code <= 0xFDEF and code < 0xFFFE
    }
    assert left_out == {"Cc", "Cf", "Zl", "Zp", "Cs"}


# --- what the stricter patterns leave out is what their descriptions say ------------------


def user_schema(path: str = RESET) -> dict[str, Any]:
    for parameter in DOCUMENTS["openapi30"]["paths"][path]["post"]["parameters"]:
        if parameter["name"] == "user":
            schema: dict[str, Any] = parameter["schema"]
            return schema
    raise AssertionError("no user parameter")


def documented(schema: dict[str, Any], value: str) -> bool:
    return len(value) <= schema.get("maxLength", len(value)) and bool(
        re.fullmatch(schema["pattern"], value)
    )


_NAME_PARTS = st.sampled_from([*"aZ09-._@%#!~4", "A1", "contoso.com", "%41", ".."])
_NAMES = st.lists(_NAME_PARTS, max_size=16).map("".join)


@given(_NAMES)
def test_the_customer_schema_admits_exactly_what_the_function_accepts(value: str) -> None:
    schema = next(
        p["schema"]
        for p in DOCUMENTS["openapi30"]["paths"][RESET]["post"]["parameters"]
        if p["name"] == "customer"
    )
    assert documented(schema, value) == (parse_customer(value) is not None)


@given(_NAMES)
def test_the_user_schema_leaves_out_only_percent_signs_and_long_undotted_names(
    value: str,
) -> None:
    local = value.rpartition("@")[0]
    plain = "%" not in value and len(local) <= api_patterns.LOCAL_PART_ANY_FORM
    if plain and len(value) <= api_patterns.MAX_USER_LENGTH:
        assert documented(user_schema(), value) == (parse_user(value) is not None)
    elif documented(user_schema(), value):
        assert parse_user(value) is not None


@pytest.mark.parametrize(
    "value",
    [
        "a" * api_patterns.LOCAL_PART_ANY_FORM + "@contoso.com",
        ".".join(["a"] * 57) + "@contoso.com",
        "ada_fabrikam.com#EXT#@contoso.onmicrosoft.com",
        "o'brien+it{1}@contoso.com",
    ],
)
def test_the_user_schema_admits_every_plain_form(value: str) -> None:
    assert documented(user_schema(), value)
    assert documented(user_schema(UPN_ONLY), value)


@pytest.mark.parametrize(
    "value",
    [
        "a" * (api_patterns.LOCAL_PART_ANY_FORM + 1) + "@contoso.com",
        "100%@contoso.com",
        "ada@" + ".".join(["a" * 63] * 3 + ["a" * 61]),
    ],
)
def test_the_user_schema_leaves_out_what_the_description_names(value: str) -> None:
    assert parse_user(value) is not None
    assert not documented(user_schema(), value)
    description = next(
        p["description"]
        for p in DOCUMENTS["openapi30"]["paths"][RESET]["post"]["parameters"]
        if p["name"] == "user"
    )
    assert "no %" in description
    assert f"longer than {api_patterns.LOCAL_PART_ANY_FORM} characters" in description
