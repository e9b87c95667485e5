"""The published API documents: the connector's Swagger 2.0, OpenAPI 3.0.3 and 3.1.

The committed documents are regenerated from the pydantic models and compared byte for
byte; they must be valid for their version; every problem code and status of
shared/errors.py must be in them; the app's real answers must validate against them.
Their patterns: tests/unit/test_api_patterns.py.
"""

from __future__ import annotations

import ast
import json
import re
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema.exceptions import ValidationError
from openapi_spec_validator import (
    OpenAPIV2SpecValidator,
    OpenAPIV30SpecValidator,
    OpenAPIV31SpecValidator,
)
from openapi_spec_validator import validate as validate_spec
from pydantic import BaseModel, SecretStr

import composition
from credentials import health_route as credentials_health
from dev import api_models, api_schemas, openapi
from dev.emulators import samples
from reset_batches import routes as batch_routes
from reset_password import routes as reset_routes
from reset_password.dependencies import ResetDependencies
from reset_password.models import ResetPasswordAnswer, ResetPasswordBody
from reset_password.names import (
    ATEXT_CHARACTERS,
    LABEL_SYNTAX,
    MAX_DOMAIN_LENGTH,
    MAX_LOCAL_PART_LENGTH,
    PERCENT_ESCAPE_SYNTAX,
    CustomerRef,
    UserRef,
    is_user_principal_name,
    parse_customer,
    parse_user,
)
from reset_password.password_policy import password_rule_violations
from reset_password.request import PathValues, parse_reset_order
from secret_links.routes import secret_links_blueprint
from shared import errors
from shared.errors import DomainError
from shared.problems import PROBLEMS, problem_body
from tests.unit.helpers import (
    CORRELATION_ID,
    RESET,
    UPN_ONLY,
    both_documents,
    check_instance,
    load,
    reset_operation,
    schema_of,
)
from worker import liveness

ROOT = Path(__file__).resolve().parents[2]
CONNECTOR = ROOT / "infra" / "connector"
CREDENTIALS = "/health/credentials"


def all_problem_classes() -> list[type[DomainError]]:
    """Found independently of the generator: every concrete error in shared.errors."""
    found: list[type[DomainError]] = []
    for value in vars(errors).values():
        if isinstance(value, type) and issubclass(value, DomainError) and value is not DomainError:
            found.append(value)
    return sorted(found, key=lambda cls: PROBLEMS[cls].code)


def test_every_domain_error_has_its_own_problem() -> None:
    assert set(all_problem_classes()) == set(PROBLEMS)


@pytest.fixture(scope="module", params=openapi.VARIANTS)
def variant(request: pytest.FixtureRequest) -> openapi.Variant:
    value: openapi.Variant = request.param
    return value


@pytest.fixture(scope="module")
def document(variant: openapi.Variant) -> dict[str, Any]:
    return load(openapi.OUTPUT_FILES[variant])


@pytest.fixture(scope="module")
def openapi31() -> dict[str, Any]:
    return load(openapi.OUTPUT_FILES["openapi"])


@pytest.fixture(scope="module")
def openapi30() -> dict[str, Any]:
    return load(openapi.OUTPUT_FILES["openapi30"])


def parameter_schemas(document: dict[str, Any], path: str = RESET) -> dict[str, dict[str, Any]]:
    """Each parameter's schema, whichever the format: Swagger 2.0 inlines it, 3.x nests it."""
    return {
        p["name"]: p.get("schema", p) if "openapi" in document else p
        for p in reset_operation(document, path)["parameters"]
        if p["in"] != "body"
    }


def iter_schemas(document: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property and item schema of every Swagger definition, with its location.

    A `$ref` is skipped: it is checked where it is defined.
    """

    def walk(schema: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
        if not isinstance(schema, dict) or "$ref" in schema:
            return
        children = [(f"{where}.{n}", sub) for n, sub in schema.get("properties", {}).items()]
        if "items" in schema:
            children.append((f"{where}[]", schema["items"]))
        for location, sub in children:
            if isinstance(sub, dict) and "$ref" not in sub:
                yield location, sub
            yield from walk(sub, location)

    for name, definition in document.get("definitions", {}).items():
        yield from walk(definition, name)


def matches(pattern: str, value: str) -> bool:
    """ECMA-262 semantics for these patterns: the whole value, no trailing newline."""
    return re.fullmatch(pattern, value) is not None


# --- the files and the generator ------------------------------------------------------


@pytest.mark.parametrize("name", openapi.DOCUMENTS)
def test_committed_document_is_what_the_generator_writes(name: openapi.Document) -> None:
    path = openapi.OUTPUT_FILES[name]
    assert path.read_text(encoding="utf-8") == openapi.render(name), (
        f"{path.relative_to(ROOT)} is stale: run `python -m dev.openapi --write`"
    )


def test_check_mode_passes_on_the_committed_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert openapi.main(["--check"]) == 0
    assert capsys.readouterr().out == ""


def test_check_mode_fails_on_a_stale_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "openapi.json"
    stale.write_text("{}\n", encoding="utf-8")
    monkeypatch.setattr(openapi, "ROOT", tmp_path)
    monkeypatch.setattr(openapi, "OUTPUT_FILES", {"openapi": stale})
    assert openapi.main(["--check"]) == 1
    assert "openapi.json is out of date" in capsys.readouterr().out


def test_connector_documents_are_valid_swagger_2(document: dict[str, Any]) -> None:
    assert document["swagger"] == "2.0"
    validate_spec(document, cls=OpenAPIV2SpecValidator)


def test_openapi_document_is_valid_openapi_3_1(openapi31: dict[str, Any]) -> None:
    assert openapi31["openapi"] == "3.1.0"
    validate_spec(openapi31, cls=OpenAPIV31SpecValidator)


def test_openapi_30_document_is_valid_openapi_3_0_3(openapi30: dict[str, Any]) -> None:
    assert openapi30["openapi"] == "3.0.3"
    validate_spec(openapi30, cls=OpenAPIV30SpecValidator)


def test_openapi_30_document_says_everything_the_31_document_says(
    openapi30: dict[str, Any], openapi31: dict[str, Any]
) -> None:
    assert openapi30["paths"].keys() == openapi31["paths"].keys()
    assert openapi30["components"]["schemas"].keys() == openapi31["components"]["schemas"].keys()
    for path, operations in openapi31["paths"].items():
        for method, operation in operations.items():
            other = openapi30["paths"][path][method]
            assert other["responses"].keys() == operation["responses"].keys()
            assert [p["name"] for p in other["parameters"]] == [
                p["name"] for p in operation["parameters"]
            ]
    assert openapi30["security"] == openapi31["security"]
    assert (
        openapi30["components"]["securitySchemes"] == (openapi31["components"]["securitySchemes"])
    )


def test_openapi_30_document_has_no_json_schema_2020_keywords(openapi30: dict[str, Any]) -> None:
    text = json.dumps(openapi30)
    for keyword in ('"const"', '"examples"', '"$defs"', '"prefixItems"', '"type": "null"'):
        assert keyword not in text
    assert '"type": [' not in text


@pytest.mark.parametrize("name", ["openapi", "openapi30"])
def test_readme_names_the_openapi_documents(name: openapi.Document) -> None:
    path = openapi.OUTPUT_FILES[name].relative_to(ROOT).as_posix()
    assert f"`{path}`" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_host_base_path_and_schemes(
    document: dict[str, Any], openapi31: dict[str, Any], openapi30: dict[str, Any]
) -> None:
    assert document["host"] == "your-function-app.azurewebsites.net"
    assert document["basePath"] == "/api"
    assert document["schemes"] == ["https"]
    for other in (openapi31, openapi30):
        assert other["servers"] == [{"url": "https://your-function-app.azurewebsites.net/api"}]


def test_converter_turns_null_unions_into_x_nullable() -> None:
    converted = api_schemas.to_swagger_schema(
        {"anyOf": [{"type": "string", "maxLength": 3}, {"type": "null"}], "title": "T"}
    )
    assert converted == {"type": "string", "maxLength": 3, "x-nullable": True}
    assert api_schemas.to_swagger_schema({"type": ["integer", "null"]}) == {
        "type": "integer",
        "x-nullable": True,
    }


def test_converter_turns_const_into_a_one_value_enum() -> None:
    assert api_schemas.to_swagger_schema({"const": "ok"}) == {"enum": ["ok"]}


def test_converter_keeps_the_first_of_the_examples() -> None:
    assert api_schemas.to_swagger_schema({"type": "string", "examples": ["a", "b"]}) == {
        "type": "string",
        "example": "a",
    }


def test_converter_keeps_only_the_reference_of_a_reference() -> None:
    assert api_schemas.to_swagger_schema({"$ref": "#/definitions/X", "description": "d"}) == {
        "$ref": "#/definitions/X"
    }


def test_openapi_31_schemas_leave_out_the_connectors_annotations() -> None:
    schema = {"type": "string", "x-ms-summary": "S", "items": {"x-ms-visibility": "advanced"}}
    assert api_schemas.to_openapi31_schema(schema) == {"type": "string", "items": {}}


def test_openapi_30_converter_says_or_null_with_nullable() -> None:
    converted = api_schemas.to_openapi30_schema(
        {"anyOf": [{"type": "string", "maxLength": 3}, {"type": "null"}], "title": "T"}
    )
    assert converted == {"type": "string", "maxLength": 3, "title": "T", "nullable": True}
    assert api_schemas.to_openapi30_schema({"type": ["integer", "null"], "default": None}) == {
        "type": "integer",
        "nullable": True,
    }


def test_openapi_30_converter_keeps_a_nullable_reference_through_all_of() -> None:
    converted = api_schemas.to_openapi30_schema(
        {"anyOf": [{"$ref": "#/components/schemas/X"}, {"type": "null"}], "description": "d"}
    )
    assert converted == {
        "allOf": [{"$ref": "#/components/schemas/X"}],
        "description": "d",
        "nullable": True,
    }


def test_openapi_30_converter_turns_const_examples_and_exclusive_bounds_into_30() -> None:
    assert api_schemas.to_openapi30_schema({"const": "ok", "examples": ["ok", "no"]}) == {
        "enum": ["ok"],
        "example": "ok",
    }
    assert api_schemas.to_openapi30_schema({"type": "integer", "exclusiveMinimum": 0}) == {
        "type": "integer",
        "minimum": 0,
        "exclusiveMinimum": True,
    }


def test_openapi_30_converter_keeps_its_own_extensions_but_not_the_connectors() -> None:
    schema = {"type": "string", "x-ms-summary": "S", "x-nullable": True}
    assert api_schemas.to_openapi30_schema(schema) == {"type": "string", "x-nullable": True}


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "array", "prefixItems": [{"type": "string"}]},
        {"type": ["string", "integer"]},
        {"$defs": {}},
    ],
)
def test_openapi_30_converter_refuses_what_30_cannot_say(schema: dict[str, Any]) -> None:
    with pytest.raises(api_schemas.SchemaConversionError):
        api_schemas.to_openapi30_schema(schema)


@pytest.mark.parametrize(
    "schema",
    [
        {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        {"type": "array", "prefixItems": [{"type": "string"}]},
        {"type": ["string", "integer"]},
    ],
)
def test_converter_refuses_what_swagger_2_cannot_say(schema: dict[str, Any]) -> None:
    with pytest.raises(api_schemas.SchemaConversionError):
        api_schemas.to_swagger_schema(schema)


def test_a_model_field_without_a_label_fails_the_generator() -> None:
    body = {k: v for k, v in api_models.LABELS["ResetPasswordBody"].items() if k != "ticketId"}
    labels = {**api_models.LABELS, "ResetPasswordBody": body}
    with pytest.raises(api_schemas.SchemaConversionError, match="ticketId"):
        api_models.component_schemas("#/definitions/{model}", labels=labels)


def test_a_label_may_not_contradict_the_model() -> None:
    body = {
        **api_models.LABELS["ResetPasswordBody"],
        "password": api_models.Label("P", "d", rules={"format": "byte"}),
    }
    with pytest.raises(api_schemas.SchemaConversionError, match="format"):
        api_models.component_schemas(
            "#/definitions/{model}", labels={**api_models.LABELS, "ResetPasswordBody": body}
        )


def test_a_nested_model_becomes_its_own_labelled_definition() -> None:
    class Note(BaseModel):
        text: str

    class Outer(BaseModel):
        notes: list[Note]

    schemas = api_models.component_schemas(
        "#/definitions/{model}",
        models=[(Outer, "serialization")],
        labels={
            "Outer": {"notes": api_models.Label("Notes", "n")},
            "Note": {"text": api_models.Label("Text", "t")},
        },
        descriptions={"Outer": "o", "Note": "n"},
    )
    assert schemas["Outer"]["properties"]["notes"]["items"] == {"$ref": "#/definitions/Note"}
    assert schemas["Note"]["properties"]["text"]["x-ms-summary"] == "Text"


# --- routes, parameters and schemas ---------------------------------------------------


def no_reset_dependencies() -> ResetDependencies:
    raise AssertionError("these specs read the triggers; no reset is served")


@pytest.fixture(scope="module")
def http_triggers() -> dict[str, dict[str, Any]]:
    """The real HTTP triggers of the documented blueprints, keyed by swagger path."""
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
    app.register_functions(reset_routes.blueprint(no_reset_dependencies))
    app.register_functions(liveness.blueprint())
    # The credentials route is served for real by some specs (an answer without settings).
    app.register_functions(
        credentials_health.blueprint(
            composition.health_route_access, composition.credentials_health
        )
    )
    app.register_functions(secret_links_blueprint(composition.secret_links))
    app.register_functions(batch_routes.blueprint(composition.batches))
    found = {}
    for function in app.get_functions():
        trigger: Any = function.get_trigger()
        if trigger.get_dict_repr().get("type") != "httpTrigger":
            continue  # the links' purge timer, the batch queue's trigger
        found["/" + str(trigger.route)] = {
            "methods": {str(m.value).lower() for m in trigger.methods},
            "anonymous": str(trigger.auth_level.value) == "anonymous",
            "handler": function.get_user_function(),
        }
    return found


@pytest.mark.parametrize("document", both_documents(), ids=openapi.DOCUMENTS)
def test_paths_are_the_apps_routes(
    document: dict[str, Any], http_triggers: dict[str, dict[str, Any]]
) -> None:
    # A flow has no use for a one-time link's page and reveal: the connector leaves them out.
    served = {
        path: trigger
        for path, trigger in http_triggers.items()
        if "openapi" in document or path not in openapi.LINK_PATHS
    }
    assert set(document["paths"]) == set(served)
    for path, trigger in served.items():
        assert set(document["paths"][path]) == trigger["methods"]
        for operation in document["paths"][path].values():
            # An anonymous route opts out of the document-wide security requirement.
            assert (operation.get("security") == []) == trigger["anonymous"], path


def test_the_generator_holds_no_route_of_its_own(
    http_triggers: dict[str, dict[str, Any]],
) -> None:
    # One description of the routes: the blueprints'. The generator reads them.
    source = Path(openapi.__file__).read_text(encoding="utf-8")
    texts = {
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    # A route of one segment ("health") is also its function's name, which may appear.
    routes = set(http_triggers) | {path[1:] for path in http_triggers if path.count("/") > 1}
    assert not routes & texts


def test_an_operation_not_stating_its_routes_query_parameters_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    options = [p for p in openapi.reset_options() if p.name != "dryRun"]
    monkeypatch.setattr(openapi, "reset_options", lambda: options)
    with pytest.raises(api_schemas.SchemaConversionError, match=r"reset_password.*dryRun"):
        openapi.build_document("openapi")


def test_operations(document: dict[str, Any]) -> None:
    assert reset_operation(document)["operationId"] == "ResetPassword"
    health = document["paths"]["/health"]["get"]
    assert health["operationId"] == "Health"
    assert health["security"] == []
    assert health["responses"]["200"]["schema"] == {"$ref": "#/definitions/Health"}


def test_reset_parameters(document: dict[str, Any]) -> None:
    parameters = {p["name"]: p for p in reset_operation(document)["parameters"]}
    assert {(name, p["in"]) for name, p in parameters.items()} == {
        ("customer", "path"),
        ("user", "path"),
        ("dryRun", "query"),
        ("x-correlation-id", "header"),
        ("Idempotency-Key", "header"),
        ("body", "body"),
    }
    assert parameters["body"]["schema"] == {"$ref": "#/definitions/ResetPasswordBody"}
    assert "domain" in parameters["customer"]["description"]
    assert "userPrincipalName" in parameters["user"]["description"]
    assert parameters["customer"]["x-ms-url-encoding"] == "single"
    assert parameters["user"]["x-ms-url-encoding"] == "single"


@pytest.mark.parametrize("name", ["openapi", "openapi30"])
def test_openapi_3_takes_the_same_parameters_and_a_json_body(name: openapi.Document) -> None:
    operation = reset_operation(load(openapi.OUTPUT_FILES[name]))
    assert [(p["name"], p["in"]) for p in operation["parameters"]] == [
        ("customer", "path"),
        ("user", "path"),
        ("dryRun", "query"),
        ("x-correlation-id", "header"),
        ("Idempotency-Key", "header"),
    ]
    body = operation["requestBody"]
    assert body["required"] is True
    assert body["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/ResetPasswordBody"}}
    }


@pytest.mark.parametrize("document", both_documents(), ids=openapi.DOCUMENTS)
def test_dry_run_is_a_boolean_defaulting_to_false(document: dict[str, Any]) -> None:
    dry_run = parameter_schemas(document)["dryRun"]
    assert (dry_run["type"], dry_run["default"]) == ("boolean", False)


@pytest.mark.parametrize("document", both_documents(), ids=openapi.DOCUMENTS)
def test_idempotency_key_is_1_to_128_printable_ascii(document: dict[str, Any]) -> None:
    key = parameter_schemas(document)["Idempotency-Key"]
    assert (key["minLength"], key["maxLength"]) == (1, 128)
    assert matches(key["pattern"], "INC0012345-1 ~")
    assert matches(key["pattern"], "k" * 128)
    assert not matches(key["pattern"], "tab\there")
    # HTTP trims a space at either end: such a key would not arrive as sent.
    assert not matches(key["pattern"], " key")
    assert not matches(key["pattern"], "key ")
    assert not matches(key["pattern"], "caf\u00e9")
    assert not matches(key["pattern"], "k" * 129)


@pytest.mark.parametrize("document", both_documents(), ids=openapi.DOCUMENTS)
@pytest.mark.parametrize(
    "value",
    [samples.SAMPLE_CUSTOMER_ID, samples.SAMPLE_CUSTOMER_DOMAIN, samples.NO_GDAP_CUSTOMER_DOMAIN],
)
def test_customer_pattern_accepts_the_sample_customers(
    document: dict[str, Any], value: str
) -> None:
    assert matches(parameter_schemas(document)["customer"]["pattern"], value)


@pytest.mark.parametrize("document", both_documents(), ids=openapi.DOCUMENTS)
@pytest.mark.parametrize(
    "value",
    [
        samples.SAMPLE_USER_ID,
        samples.SAMPLE_USER_UPN,
        "ada_fabrikam.com#EXT#@contoso.onmicrosoft.com",
    ],
)
def test_user_pattern_accepts_the_sample_users(document: dict[str, Any], value: str) -> None:
    assert matches(parameter_schemas(document)["user"]["pattern"], value)


@pytest.mark.parametrize("document", both_documents(), ids=openapi.DOCUMENTS)
@pytest.mark.parametrize("parameter", ["customer", "user"])
@pytest.mark.parametrize(
    "value", ["0", "contoso", "contoso.com.", "ada@contoso.com@x.com", "%41da.contoso.com"]
)
def test_path_patterns_refuse_what_is_neither_an_id_nor_a_name(
    document: dict[str, Any], parameter: str, value: str
) -> None:
    assert not matches(parameter_schemas(document)[parameter]["pattern"], value)


_NAME_CHARACTERS = st.sampled_from([*"aZ09-._@%#!~4 \n\u0430", "A1", "contoso.com", "%41", ".."])
_NAMES = st.lists(_NAME_CHARACTERS, max_size=16).map("".join)
_LONG_LABEL = "a" * 63


@pytest.mark.parametrize(
    "value",
    [
        f"{_LONG_LABEL}.com",
        f"{_LONG_LABEL}a.com",
        ".".join([_LONG_LABEL] * 3 + ["a" * 61]),
        ".".join([_LONG_LABEL] * 3 + ["a" * 62]),
        f"{'a' * 113}@contoso.com",
        f"{'a' * 114}@contoso.com",
        "-a.com",
        "a-.com",
        ".ada@contoso.com",
        "ada.@contoso.com",
        "ad..a@contoso.com",
        "6F1C4E8A-0B2D-4C3E-9F1A-2B3C4D5E6F70",
    ],
)
def test_path_schemas_agree_with_the_function_at_the_edges(value: str) -> None:
    parameters = parameter_schemas(load(openapi.OUTPUT_FILES["openapi"]))
    assert admits(parameters["customer"], value) == (parse_customer(value) is not None)
    # The user's schema may leave out a UPN the function takes (test_api_patterns.py),
    # never the other way round.
    if admits(parameters["user"], value):
        assert parse_user(value) is not None


def admits(schema: dict[str, Any], value: str) -> bool:
    return len(value) <= schema.get("maxLength", len(value)) and matches(schema["pattern"], value)


@given(_NAMES)
def test_customer_schema_admits_exactly_what_the_function_accepts(value: str) -> None:
    schema = parameter_schemas(load(openapi.OUTPUT_FILES["openapi"]))["customer"]
    assert admits(schema, value) == (parse_customer(value) is not None)


# The UPN rule restated as one whole-value regular expression: an oracle written apart
# from reset_password/names.py's step-by-step checks, which must agree with it.
_DOMAIN_NAME = rf"(?=[A-Za-z0-9.-]{{1,{MAX_DOMAIN_LENGTH}}}$){LABEL_SYNTAX}(?:\.{LABEL_SYNTAX})+"
USER_PRINCIPAL_NAME_PATTERN = (
    rf"^(?!.*{PERCENT_ESCAPE_SYNTAX})(?=[^@]{{1,{MAX_LOCAL_PART_LENGTH}}}@)"
    rf"[{ATEXT_CHARACTERS}]+(?:\.[{ATEXT_CHARACTERS}]+)*@{_DOMAIN_NAME}$"
)


@given(_NAMES)
def test_upn_only_pattern_accepts_exactly_the_user_principal_names(value: str) -> None:
    assert matches(USER_PRINCIPAL_NAME_PATTERN, value) == is_user_principal_name(value)


@given(st.text(alphabet=st.sampled_from(list('aZ9!~ \\]^-["\u00e9\t')), max_size=12))
def test_password_schema_accepts_exactly_what_the_password_rules_accept(value: str) -> None:
    password = schema_of(load(openapi.OUTPUT_FILES["openapi"]), "ResetPasswordBody")["properties"][
        "password"
    ]
    valid = password["minLength"] <= len(value) <= password["maxLength"] and matches(
        password["pattern"], value
    )
    assert valid == (password_rule_violations(value) == [])


@pytest.mark.parametrize("document", both_documents(), ids=openapi.DOCUMENTS)
@pytest.mark.parametrize("customer", [samples.SAMPLE_CUSTOMER_ID, samples.SAMPLE_CUSTOMER_DOMAIN])
@pytest.mark.parametrize("user", [samples.SAMPLE_USER_ID, samples.SAMPLE_USER_UPN])
@pytest.mark.parametrize("dry_run", ["true", "false"])
def test_a_request_the_document_calls_valid_is_accepted(
    document: dict[str, Any], customer: str, user: str, dry_run: str
) -> None:
    parameters = parameter_schemas(document)
    key = "INC0012345-1"
    body = {"password": "Correct-Horse-42", "forceChangePassword": False, "ticketId": "INC0012345"}
    assert matches(parameters["customer"]["pattern"], customer)
    assert matches(parameters["user"]["pattern"], user)
    assert matches(parameters["Idempotency-Key"]["pattern"], key)
    check_instance(body, document, "ResetPasswordBody")
    request = func.HttpRequest(
        method="POST",
        url=f"/api/customers/{customer}/users/{user}/resetpassword?dryRun={dry_run}",
        headers={"Content-Type": "application/json", "Idempotency-Key": key},
        params={"dryRun": dry_run},
        route_params={"customer": customer, "user": user},
        body=json.dumps(body).encode(),
    )
    parsed = parse_reset_order(request, PathValues.of(request))
    assert parsed.dry_run == (dry_run == "true")


# --- the reset by userPrincipalName alone ---------------------------------------------


def test_the_upn_only_route_is_described() -> None:
    assert UPN_ONLY in openapi.build_swagger()["paths"]
    assert UPN_ONLY in openapi.build_openapi()["paths"]


def test_upn_only_route_takes_a_user_principal_name_and_no_customer() -> None:
    for document in (
        openapi.build_swagger(),
        openapi.build_openapi(),
    ):
        parameters = parameter_schemas(document, UPN_ONLY)
        assert "customer" not in parameters
        pattern = parameters["user"]["pattern"]
        assert matches(pattern, samples.SAMPLE_USER_UPN)
        assert not matches(pattern, samples.SAMPLE_USER_ID)
        assert not matches(pattern, "0")
        assert reset_operation(document, UPN_ONLY)["operationId"] == (
            "ResetPasswordByUserPrincipalName"
        )


def test_every_parameter_property_and_header_has_a_summary(document: dict[str, Any]) -> None:
    unlabelled = [
        f"{name}: {p['name']}"
        for path in document["paths"].values()
        for name, operation in path.items()
        for p in operation["parameters"]
        if not p.get("x-ms-summary")
    ]
    unlabelled += [
        where for where, schema in iter_schemas(document) if not schema.get("x-ms-summary")
    ]
    unlabelled += [
        f"{status} {header}"
        for path in document["paths"].values()
        for operation in path.values()
        for status, response in operation["responses"].items()
        for header, schema in response.get("headers", {}).items()
        if not schema.get("x-ms-summary")
    ]
    assert unlabelled == []


def test_request_body_schema(document: dict[str, Any]) -> None:
    body = document["definitions"]["ResetPasswordBody"]
    model = ResetPasswordBody.model_json_schema(by_alias=True)
    assert set(body["properties"]) == set(model["properties"])
    # A password or a delivery: neither alone is required (the description says so).
    assert "required" not in body
    assert body["additionalProperties"] is False
    password = body["properties"]["password"]
    assert password["type"] == "string"
    assert password["format"] == "password"
    assert (password["minLength"], password["maxLength"]) == (8, 256)
    assert password["x-ms-visibility"] == "advanced"
    assert "default" not in password
    assert "example" not in password
    force = body["properties"]["forceChangePassword"]
    assert force == force | {"type": "boolean", "default": True, "x-ms-visibility": "advanced"}
    ticket = body["properties"]["ticketId"]
    assert (ticket["type"], ticket["minLength"], ticket["maxLength"]) == ("string", 1, 64)
    requested_by = body["properties"]["requestedBy"]
    assert (requested_by["minLength"], requested_by["maxLength"]) == (1, 128)
    assert requested_by["pattern"] == ticket["pattern"]


def test_answer_schema_marks_nullable_fields(document: dict[str, Any]) -> None:
    answer = document["definitions"]["ResetPasswordAnswer"]
    model = ResetPasswordAnswer.model_json_schema(by_alias=True, mode="serialization")
    assert set(answer["properties"]) == set(model["properties"])
    assert answer["required"] == model["required"]
    nullable = {name for name, p in answer["properties"].items() if p.get("x-nullable")}
    assert nullable == {
        "userPrincipalName",
        "displayName",
        "ticketId",
        "requestedBy",
        "sessionsRevoked",
    }
    assert answer["properties"]["status"]["enum"] == ["succeeded", "validated"]
    assert answer["properties"]["completedAt"]["format"] == "date-time"


@pytest.mark.parametrize("document", both_documents(), ids=openapi.DOCUMENTS)
@pytest.mark.parametrize("upn", ["ada@contoso.onmicrosoft.com", None])
@pytest.mark.parametrize("revoked", [None, True, False])
def test_a_real_answer_validates(
    document: dict[str, Any], upn: str | None, revoked: bool | None
) -> None:
    from reset_password.records import CallerPassword, Caveat, ResetOrder, ResetOutcome
    from reset_password.routes import render_answer

    outcome = ResetOutcome(
        customer_id="6f1c4e8a-0b2d-4c3e-9f1a-2b3c4d5e6f70",
        user_id="1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d",
        user_principal_name=upn,
        display_name=None if upn is None else "Ada",
        sessions_revoked=revoked,
        warnings=(Caveat("sessions_not_revoked", "Graph refused."),) if revoked is False else (),
        status="succeeded",
        completed_at=datetime(2026, 11, 21, 10, 0, tzinfo=UTC),
    )
    assert outcome.customer_id is not None and outcome.user_id is not None
    order = ResetOrder(
        customer=CustomerRef(tenant_id=outcome.customer_id),
        user=UserRef(object_id=outcome.user_id),
        source=CallerPassword(SecretStr("Canary#Pw-7f3a9c")),
        force_change_password=True,
        ticket_id=None,
        idempotency_key=None,
        dry_run=False,
    )
    answer = render_answer(order, outcome, uuid.UUID(CORRELATION_ID))
    check_instance(answer, document, "ResetPasswordAnswer")


@pytest.mark.parametrize("document", both_documents(), ids=openapi.DOCUMENTS)
def test_the_health_answer_validates(
    document: dict[str, Any], http_triggers: dict[str, dict[str, Any]]
) -> None:
    handler = http_triggers["/health"]["handler"]
    response = handler(func.HttpRequest(method="GET", url="/api/health", body=b""))
    assert response.status_code == 200
    check_instance(json.loads(response.get_body()), document, "Health")


# --- problems -------------------------------------------------------------------------


def documented_problems() -> dict[str, int]:
    """The function's codes, from its problem table."""
    return {PROBLEMS[cls].code: PROBLEMS[cls].status for cls in all_problem_classes()}


def test_every_problem_code_is_in_the_enum(document: dict[str, Any]) -> None:
    enum = document["definitions"]["Problem"]["properties"]["code"]["enum"]
    assert sorted(enum) == sorted(documented_problems())
    assert len(enum) == len(set(enum))


def test_every_problem_status_is_a_response(document: dict[str, Any]) -> None:
    responses = reset_operation(document)["responses"]
    statuses = set(documented_problems().values())
    assert {400, 401, 403, 404, 409, 413, 415, 429, 500, 502, 503, 504} <= statuses
    for status in statuses:
        response = responses[str(status)]
        assert response["schema"] == {"$ref": "#/definitions/Problem"}
        assert "x-correlation-id" in response["headers"]
        for code, code_status in documented_problems().items():
            if code_status == status:
                assert code in response["description"]
    assert set(responses) == {"200"} | {str(s) for s in statuses}
    assert "Retry-After" in responses["429"]["headers"]
    assert "Retry-After" in responses["503"]["headers"]
    assert "WWW-Authenticate" in responses["401"]["headers"]


@pytest.mark.parametrize("document", both_documents(), ids=openapi.DOCUMENTS)
@pytest.mark.parametrize("cls", all_problem_classes(), ids=lambda cls: PROBLEMS[cls].code)
def test_every_real_problem_body_validates(
    document: dict[str, Any], cls: type[DomainError]
) -> None:
    error = cls("Something to fix.")
    # Every optional member at once; subclasses differ in what their constructors take.
    error.errors = [{"field": "password", "message": "must be 8 to 256 characters long"}]
    check_instance(problem_body(error, CORRELATION_ID), document, "Problem")


# --- the interface changes of issue 20 --------------------------------------------------


def responses_of(document: dict[str, Any], path: str, method: str = "post") -> dict[str, Any]:
    responses: dict[str, Any] = document["paths"][path][method]["responses"]
    return responses


@pytest.mark.parametrize("document", both_documents(), ids=openapi.DOCUMENTS)
@pytest.mark.parametrize("path", [RESET, UPN_ONLY])
def test_both_reset_routes_answer_a_guest_with_409_user_is_guest(
    document: dict[str, Any], path: str
) -> None:
    assert "user_is_guest" in responses_of(document, path)["409"]["description"]
    assert "user_is_guest" in schema_of(document, "Problem")["properties"]["code"]["enum"]
    assert "409 user_is_guest" in reset_operation(document, path)["description"]


@pytest.mark.parametrize("document", both_documents(), ids=openapi.DOCUMENTS)
@pytest.mark.parametrize("path", [RESET, UPN_ONLY])
def test_the_dry_run_states_its_gdap_check(document: dict[str, Any], path: str) -> None:
    dry_run = next(
        p for p in reset_operation(document, path)["parameters"] if p["name"] == "dryRun"
    )
    assert "403 partner_forbidden" in dry_run["description"]
    assert "gdap_not_checked" in dry_run["description"]
    assert "partner_forbidden" in responses_of(document, path)["403"]["description"]
    warning = schema_of(document, "ResetWarning")["properties"]["code"]
    assert "gdap_not_checked" in warning["description"]
    items = schema_of(document, "ResetPasswordAnswer")["properties"]["warnings"]["items"]
    assert items["$ref"].endswith("/ResetWarning")
    assert set(schema_of(document, "ResetWarning")["required"]) == {"code", "detail"}


def test_a_dry_run_answer_with_a_gdap_warning_validates(document: dict[str, Any]) -> None:
    answer = {
        "status": "validated",
        "customerTenantId": "6f1c4e8a-0b2d-4c3e-9f1a-2b3c4d5e6f70",
        "userId": "1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d",
        "userPrincipalName": None,
        "displayName": None,
        "forceChangePassword": True,
        "ticketId": None,
        "requestedBy": None,
        "correlationId": CORRELATION_ID,
        "completedAt": "2026-11-21T10:00:00Z",
        "sessionsRevoked": None,
        "warnings": [{"code": "gdap_not_checked", "detail": "Consent lacks the permission."}],
    }
    check_instance(answer, document, "ResetPasswordAnswer")


@pytest.mark.parametrize("document", both_documents(), ids=openapi.DOCUMENTS)
def test_the_credentials_check_is_described_with_its_refusals(document: dict[str, Any]) -> None:
    operation = document["paths"][CREDENTIALS]["get"]
    assert operation["operationId"] == "CredentialsHealth"
    assert [p["name"] for p in operation["parameters"]] == ["probe"]
    responses = operation["responses"]
    assert set(responses) == {"200", "400", "401", "403", "500", "503"}
    assert "unauthenticated" in responses["401"]["description"]
    assert "WWW-Authenticate" in responses["401"]["headers"]
    assert "forbidden" in responses["403"]["description"]
    for status in ("400", "401", "403", "500"):
        media = responses[status] if "swagger" in document else responses[status]["content"]
        assert "Problem" in json.dumps(media), status
    for status in ("200", "503"):
        assert "CredentialsReport" in json.dumps(responses[status]), status


@pytest.mark.parametrize("document", both_documents(), ids=openapi.DOCUMENTS)
def test_the_credentials_report_states_probed_and_last_probe_at(document: dict[str, Any]) -> None:
    checks = [{"name": "token_exchange", "status": "ok", "detail": "d", "lastSuccessAt": None}]
    report = {"status": "ok", "checks": checks}
    check_instance(report, document, "CredentialsReport")
    for probed, last in ((True, "2026-11-21T10:00:00Z"), (False, None)):
        check_instance(
            {**report, "probed": probed, "lastProbeAt": last}, document, "CredentialsReport"
        )
    with pytest.raises(ValidationError):
        check_instance({**report, "probed": None}, document, "CredentialsReport")
    with pytest.raises(ValidationError):
        check_instance({**report, "lastProbeAt": "yesterday"}, document, "CredentialsReport")


@pytest.mark.parametrize("document", both_documents(), ids=openapi.DOCUMENTS)
def test_the_credentials_answer_without_settings_validates(
    document: dict[str, Any],
    http_triggers: dict[str, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KEY_VAULT_URL", raising=False)
    handler = http_triggers[CREDENTIALS]["handler"]
    response = handler(func.HttpRequest(method="GET", url="/api/health/credentials", body=b""))
    assert response.status_code == 503
    check_instance(json.loads(response.get_body()), document, "CredentialsReport")


# --- the connector --------------------------------------------------------------------


def test_api_key_variant_sends_the_function_key_from_a_securestring() -> None:
    document = load(CONNECTOR / "apiDefinition.swagger.json")
    assert document["securityDefinitions"] == {
        "api_key": {
            "type": "apiKey",
            "name": "x-functions-key",
            "in": "header",
            "description": document["securityDefinitions"]["api_key"]["description"],
        }
    }
    assert document["security"] == [{"api_key": []}]
    properties = load(CONNECTOR / "apiProperties.json")["properties"]
    parameter = properties["connectionParameters"]["api_key"]
    assert parameter["type"] == "securestring"
    assert parameter["uiDefinition"]["constraints"]["clearText"] is False
    assert parameter["uiDefinition"]["displayName"]
    assert "policyTemplateInstances" not in properties
    for key in ("iconBrandColor", "capabilities", "publisher", "stackOwner"):
        assert key in properties


def test_oauth_variant_signs_in_with_entra_id_and_adds_the_function_key() -> None:
    document = load(CONNECTOR / "oauth" / "apiDefinition.swagger.json")
    (name, scheme), *_ = document["securityDefinitions"].items()
    assert len(document["securityDefinitions"]) == 1
    assert scheme["type"] == "oauth2"
    assert scheme["flow"] == "accessCode"
    assert scheme["authorizationUrl"] == "https://login.microsoftonline.com/common/oauth2/authorize"
    assert scheme["tokenUrl"] == "https://login.microsoftonline.com/common/oauth2/token"
    assert document["security"] == [{name: []}]

    properties = load(CONNECTOR / "oauth" / "apiProperties.json")["properties"]
    token = properties["connectionParameters"]["token"]
    assert token["type"] == "oauthSetting"
    settings = token["oAuthSettings"]
    assert settings["identityProvider"] == "aad"
    custom = settings["customParameters"]
    assert (
        custom["resourceUri"]["value"] == settings["properties"]["AzureActiveDirectoryResourceId"]
    )
    # AuthLevel FUNCTION still needs a key: the gateway adds it to every request.
    (policy,) = properties["policyTemplateInstances"]
    assert policy["templateId"] == "setheader"
    parameters = policy["parameters"]
    assert parameters["x-ms-apimTemplateParameter.name"] == "x-functions-key"
    assert parameters["x-ms-apimTemplate-policySection"] == "Request"
    # The key comes from a securestring connection parameter: the connector holds none.
    assert parameters["x-ms-apimTemplateParameter.value"] == "@connectionParameters('function_key')"
    key = properties["connectionParameters"]["function_key"]
    assert key["type"] == "securestring"
    assert key["uiDefinition"]["constraints"]["clearText"] is False
    # Only placeholders are committed: never a real client or tenant.
    assert settings["clientId"] == "__CONNECTOR_CLIENT_ID__"
    assert custom["tenantId"]["value"] == "__CALLER_TENANT_ID__"
    assert custom["resourceUri"]["value"] == "__CALLER_AUDIENCE__"


def test_both_variants_describe_the_same_operations() -> None:
    api_key = load(CONNECTOR / "apiDefinition.swagger.json")
    oauth = load(CONNECTOR / "oauth" / "apiDefinition.swagger.json")
    assert api_key["paths"] == oauth["paths"]
    assert api_key["definitions"] == oauth["definitions"]
