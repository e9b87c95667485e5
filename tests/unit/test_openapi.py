"""The Swagger 2.0 description and the Power Automate connector files.

The committed documents are regenerated from the pydantic models and compared byte for
byte; they must be valid Swagger 2.0; every problem code and status of shared/errors.py
must be in them; the app's real answers must validate against them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from openapi_schema_validator import validate as validate_instance
from openapi_spec_validator import OpenAPIV2SpecValidator
from openapi_spec_validator import validate as validate_spec

from dev import openapi
from reset_password.models import ResetPasswordAnswer, ResetPasswordBody
from reset_password.routes import bp as reset_password_bp
from shared import errors
from shared.errors import ProblemError
from shared.health import bp as health_bp
from shared.problems import problem_body

ROOT = Path(__file__).resolve().parents[2]
CONNECTOR = ROOT / "infra" / "connector"
RESET = "/customers/{customer}/users/{user}/resetpassword"
CORRELATION_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"


def load(path: Path) -> dict[str, Any]:
    value = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(value, dict)
    return value


def all_problem_classes() -> list[type[ProblemError]]:
    """Found independently of the generator: every ProblemError class in shared.errors."""
    found: list[type[ProblemError]] = []
    for value in vars(errors).values():
        if isinstance(value, type) and issubclass(value, ProblemError):
            found.append(value)
    return sorted(found, key=lambda cls: cls.code)


@pytest.fixture(scope="module", params=openapi.VARIANTS)
def variant(request: pytest.FixtureRequest) -> openapi.Variant:
    value: openapi.Variant = request.param
    return value


@pytest.fixture(scope="module")
def document(variant: openapi.Variant) -> dict[str, Any]:
    return load(openapi.OUTPUT_FILES[variant])


def reset_operation(document: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = document["paths"][RESET]["post"]
    return operation


def to_oas30(node: Any) -> Any:
    """Swagger 2.0 schema -> OpenAPI 3.0 schema, for instance validation in these tests."""
    if isinstance(node, list):
        return [to_oas30(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: to_oas30(value) for key, value in node.items() if not key.startswith("x-")}
    if node.get("x-nullable"):
        out["nullable"] = True
    return out


def check_instance(instance: Any, document: dict[str, Any], definition: str) -> None:
    """Validates against a definition, with undeclared top-level properties refused too."""
    schema = to_oas30(document["definitions"][definition])
    schema["additionalProperties"] = False
    schema["definitions"] = to_oas30(document["definitions"])
    validate_instance(instance, schema, cls=OAS30Validator, format_checker=oas30_format_checker)


# --- the files and the generator ------------------------------------------------------


def test_committed_definition_is_what_the_generator_writes(variant: openapi.Variant) -> None:
    path = openapi.OUTPUT_FILES[variant]
    assert path.read_text(encoding="utf-8") == openapi.render(variant), (
        f"{path.relative_to(ROOT)} is stale: run `python -m dev.openapi --write`"
    )


def test_check_mode_passes_on_the_committed_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert openapi.main(["--check"]) == 0
    assert capsys.readouterr().out == ""


def test_document_is_valid_swagger_2(document: dict[str, Any]) -> None:
    assert document["swagger"] == "2.0"
    validate_spec(document, cls=OpenAPIV2SpecValidator)


def test_host_base_path_and_schemes(document: dict[str, Any]) -> None:
    assert document["host"] == "your-function-app.azurewebsites.net"
    assert document["basePath"] == "/api"
    assert document["schemes"] == ["https"]


def test_converter_turns_null_unions_into_x_nullable() -> None:
    converted = openapi.to_swagger_schema(
        {"anyOf": [{"type": "string", "maxLength": 3}, {"type": "null"}], "title": "T"}
    )
    assert converted == {"type": "string", "maxLength": 3, "x-nullable": True}
    assert openapi.to_swagger_schema({"type": ["integer", "null"]}) == {
        "type": "integer",
        "x-nullable": True,
    }
    assert openapi.to_swagger_schema({"const": "ok"}) == {"enum": ["ok"]}
    assert openapi.to_swagger_schema({"$ref": "#/$defs/Inner"}) == {"$ref": "#/definitions/Inner"}


@pytest.mark.parametrize(
    "schema",
    [
        {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        {"type": "array", "prefixItems": [{"type": "string"}]},
        {"type": ["string", "integer"]},
    ],
)
def test_converter_refuses_what_swagger_2_cannot_say(schema: dict[str, Any]) -> None:
    with pytest.raises(openapi.SchemaConversionError):
        openapi.to_swagger_schema(schema)


def test_a_model_field_without_a_label_fails_the_generator() -> None:
    fields = dict(openapi.BODY_FIELDS)
    del fields["ticketId"]
    with pytest.raises(openapi.SchemaConversionError, match="ticketId"):
        openapi.model_definitions("Body", ResetPasswordBody, "validation", fields, "d")


def test_a_label_may_not_contradict_the_model() -> None:
    fields = {**openapi.BODY_FIELDS, "password": {"x-ms-summary": "P", "format": "byte"}}
    with pytest.raises(openapi.SchemaConversionError, match="format"):
        openapi.model_definitions("Body", ResetPasswordBody, "validation", fields, "d")


# --- routes, parameters and schemas ---------------------------------------------------


@pytest.fixture(scope="module")
def http_triggers() -> dict[str, dict[str, Any]]:
    """The real HTTP triggers of the two documented blueprints, keyed by swagger path."""
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
    app.register_functions(reset_password_bp)
    app.register_functions(health_bp)
    found = {}
    for function in app.get_functions():
        trigger: Any = function.get_trigger()
        found["/" + str(trigger.route)] = {
            "methods": {str(m.value).lower() for m in trigger.methods},
            "anonymous": str(trigger.auth_level.value) == "anonymous",
            "handler": function.get_user_function(),
        }
    return found


def test_paths_are_the_apps_routes(
    document: dict[str, Any], http_triggers: dict[str, dict[str, Any]]
) -> None:
    assert set(document["paths"]) == set(http_triggers)
    for path, trigger in http_triggers.items():
        assert set(document["paths"][path]) == trigger["methods"]
        for operation in document["paths"][path].values():
            # An anonymous route opts out of the document-wide security requirement.
            assert (operation.get("security") == []) == trigger["anonymous"], path


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
    assert parameters["dryRun"]["type"] == "boolean"
    assert parameters["body"]["schema"] == {"$ref": "#/definitions/ResetPasswordBody"}
    assert "domain" in parameters["customer"]["description"]
    assert "userPrincipalName" in parameters["user"]["description"]


def test_every_parameter_property_and_header_has_a_summary(document: dict[str, Any]) -> None:
    unlabelled = [
        f"{name}: {p['name']}"
        for path in document["paths"].values()
        for name, operation in path.items()
        for p in operation["parameters"]
        if not p.get("x-ms-summary")
    ]
    unlabelled += [
        where for where, schema in openapi.iter_schemas(document) if not schema.get("x-ms-summary")
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
    assert body["required"] == ["password"]
    assert body["additionalProperties"] is False
    password = body["properties"]["password"]
    assert password["type"] == "string"
    assert password["format"] == "password"
    assert (password["minLength"], password["maxLength"]) == (8, 256)
    assert password["x-ms-visibility"] == "important"
    assert "default" not in password
    assert "example" not in password
    force = body["properties"]["forceChangePassword"]
    assert force == force | {"type": "boolean", "default": True, "x-ms-visibility": "advanced"}
    ticket = body["properties"]["ticketId"]
    assert (ticket["type"], ticket["minLength"], ticket["maxLength"]) == ("string", 1, 64)


def test_answer_schema_marks_nullable_fields(document: dict[str, Any]) -> None:
    answer = document["definitions"]["ResetPasswordAnswer"]
    model = ResetPasswordAnswer.model_json_schema(by_alias=True, mode="serialization")
    assert set(answer["properties"]) == set(model["properties"])
    assert answer["required"] == model["required"]
    nullable = {name for name, p in answer["properties"].items() if p.get("x-nullable")}
    assert nullable == {"userPrincipalName", "displayName", "ticketId"}
    assert answer["properties"]["status"]["enum"] == ["succeeded", "validated"]
    assert answer["properties"]["completedAt"]["format"] == "date-time"


@pytest.mark.parametrize("upn", ["ada@contoso.onmicrosoft.com", None])
def test_a_real_answer_validates(document: dict[str, Any], upn: str | None) -> None:
    answer = ResetPasswordAnswer(
        status="succeeded",
        customerTenantId="6f1c4e8a-0b2d-4c3e-9f1a-2b3c4d5e6f70",
        userId="1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d",
        userPrincipalName=upn,
        displayName=None if upn is None else "Ada Lovelace",
        forceChangePassword=True,
        ticketId=None,
        correlationId=CORRELATION_ID,
        completedAt=datetime(2026, 11, 21, 10, 0, tzinfo=UTC),
    )
    check_instance(answer.to_json_dict(), document, "ResetPasswordAnswer")


def test_the_health_answer_validates(
    document: dict[str, Any], http_triggers: dict[str, dict[str, Any]]
) -> None:
    handler = http_triggers["/health"]["handler"]
    response = handler(func.HttpRequest(method="GET", url="/api/health", body=b""))
    assert response.status_code == 200
    check_instance(json.loads(response.get_body()), document, "Health")


# --- problems -------------------------------------------------------------------------


def test_every_problem_code_is_in_the_enum(document: dict[str, Any]) -> None:
    enum = document["definitions"]["Problem"]["properties"]["code"]["enum"]
    assert sorted(enum) == sorted({cls.code for cls in all_problem_classes()})
    assert len(enum) == len(set(enum))


def test_every_problem_status_is_a_response(document: dict[str, Any]) -> None:
    responses = reset_operation(document)["responses"]
    statuses = {cls.status for cls in all_problem_classes()}
    assert {400, 401, 403, 404, 409, 413, 415, 429, 500, 502, 503, 504} <= statuses
    for status in statuses:
        response = responses[str(status)]
        assert response["schema"] == {"$ref": "#/definitions/Problem"}
        assert "x-correlation-id" in response["headers"]
        for cls in all_problem_classes():
            if cls.status == status:
                assert cls.code in response["description"]
    assert set(responses) == {"200"} | {str(s) for s in statuses}
    assert "Retry-After" in responses["429"]["headers"]
    assert "Retry-After" in responses["503"]["headers"]
    assert "WWW-Authenticate" in responses["401"]["headers"]


@pytest.mark.parametrize("cls", all_problem_classes(), ids=lambda cls: cls.code)
def test_every_real_problem_body_validates(
    document: dict[str, Any], cls: type[ProblemError]
) -> None:
    error = cls("Something to fix.")
    # Every optional member at once; subclasses differ in what their constructors take.
    error.errors = [{"field": "password", "message": "must be 8 to 256 characters long"}]
    error.extra = {"candidates": ["6f1c4e8a-0b2d-4c3e-9f1a-2b3c4d5e6f70"]}
    check_instance(problem_body(error, CORRELATION_ID), document, "Problem")


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
    # Only placeholders are committed: never a real key, client or tenant.
    assert parameters["x-ms-apimTemplateParameter.value"] == "__FUNCTION_KEY__"
    assert settings["clientId"] == "__CONNECTOR_CLIENT_ID__"
    assert custom["tenantId"]["value"] == "__CALLER_TENANT_ID__"
    assert custom["resourceUri"]["value"] == "__CALLER_AUDIENCE__"


def test_both_variants_describe_the_same_operations() -> None:
    api_key = load(CONNECTOR / "apiDefinition.swagger.json")
    oauth = load(CONNECTOR / "oauth" / "apiDefinition.swagger.json")
    assert api_key["paths"] == oauth["paths"]
    assert api_key["definitions"] == oauth["definitions"]
