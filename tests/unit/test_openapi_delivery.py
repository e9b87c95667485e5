"""The API documents on generated passwords (contract 1c): `delivery`, `requestedBy`,
`passwordGenerated`, `secretLink` and `secret_link_not_stored` in all of them; the link's
page and reveal in the OpenAPI documents; in the connector, the reset with a one-time
link is what a flow author meets first."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import SecretStr

from dev import openapi
from reset_password.names import CustomerRef, UserRef
from reset_password.records import (
    CallerPassword,
    GeneratedPassword,
    IssuedLink,
    PasswordSource,
    ResetOrder,
    ResetOutcome,
)
from reset_password.routes import render_answer
from secret_links.crypto import new_link, seal
from secret_links.errors import SecretGone, SecretNotReady
from secret_links.routes import _problem
from shared.errors import DomainError
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

CUSTOMER_ID = "6f1c4e8a-0b2d-4c3e-9f1a-2b3c4d5e6f70"
USER_ID = "1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d"
OPENAPI = ["openapi", "openapi30"]


def order(source: PasswordSource, *, dry_run: bool = False) -> ResetOrder:
    return ResetOrder(
        customer=CustomerRef(tenant_id=CUSTOMER_ID),
        user=UserRef(object_id=USER_ID),
        source=source,
        force_change_password=True,
        ticket_id="INC1",
        idempotency_key=None,
        dry_run=dry_run,
        requested_by="Grace Hopper",
    )


def outcome(*, link: bool, dry_run: bool = False) -> ResetOutcome:
    key = new_link()
    return ResetOutcome(
        customer_id=CUSTOMER_ID,
        user_id=USER_ID,
        status="validated" if dry_run else "succeeded",
        completed_at=datetime(2026, 11, 21, 10, 0, tzinfo=UTC),
        password_generated=not dry_run,
        password_set=not dry_run,
        secret_link=IssuedLink(
            key.link_id,
            key.url("https://reset.contoso.com"),
            datetime(2026, 11, 22, 10, 0, tzinfo=UTC),
        )
        if link
        else None,
    )


def rendered(source: PasswordSource, done: ResetOutcome, dry_run: bool = False) -> Any:
    return render_answer(order(source, dry_run=dry_run), done, uuid.UUID(CORRELATION_ID))


@pytest.mark.parametrize("document", both_documents(), ids=openapi.DOCUMENTS)
@pytest.mark.parametrize(
    ("source", "link", "dry_run"),
    [
        (GeneratedPassword("link"), True, False),
        (GeneratedPassword("none"), False, False),
        (GeneratedPassword("link"), False, True),
        (CallerPassword(SecretStr("Correct-Horse-42")), False, False),
    ],
    ids=["link", "scramble", "dry-run", "callers-password"],
)
def test_every_delivery_answer_validates(
    document: dict[str, Any], source: PasswordSource, link: bool, dry_run: bool
) -> None:
    answer = rendered(source, outcome(link=link, dry_run=dry_run), dry_run)

    check_instance(answer, document, "ResetPasswordAnswer")
    assert ("secretLink" in answer) == link
    assert ("passwordGenerated" in answer) == isinstance(source, GeneratedPassword)


@pytest.mark.parametrize("document", both_documents(), ids=openapi.DOCUMENTS)
def test_every_document_names_the_new_fields_and_the_503(document: dict[str, Any]) -> None:
    body = schema_of(document, "ResetPasswordBody")["properties"]
    answer = schema_of(document, "ResetPasswordAnswer")["properties"]
    assert body["delivery"]["enum"] == ["link", "none"]
    assert {"requestedBy", "delivery", "password"} <= set(body)
    assert {"requestedBy", "passwordGenerated", "delivery", "secretLink"} <= set(answer)
    link = schema_of(document, "SecretLink")
    assert set(link["properties"]) == {"url", "expiresAt", "maxViews"}
    views = link["properties"]["maxViews"]
    assert views.get("enum", [views.get("const")]) == [1]
    for path in (RESET, UPN_ONLY):
        assert (
            "secret_link_not_stored"
            in reset_operation(document, path)["responses"]["503"]["description"]
        )
    assert "secret_link_not_stored" in schema_of(document, "Problem")["properties"]["code"]["enum"]


@pytest.mark.parametrize("name", OPENAPI)
@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"delivery": "link"}, True),
        ({"delivery": "none", "requestedBy": "Grace"}, True),
        ({"password": "Correct-Horse-42"}, True),
        ({"password": "Correct-Horse-42", "delivery": "link"}, False),
        ({"ticketId": "INC1"}, False),
        ({"delivery": "email"}, False),
    ],
)
def test_openapi_says_a_password_or_a_delivery_never_both(
    name: openapi.Document, body: dict[str, Any], valid: bool
) -> None:
    document = load(openapi.OUTPUT_FILES[name])
    # 3.0's own keywords ('nullable', 'example') are mere annotations to this validator.
    schema = {**schema_of(document, "ResetPasswordBody"), "components": document["components"]}
    assert Draft202012Validator(schema).is_valid(body) == valid


@pytest.mark.parametrize("variant", openapi.VARIANTS)
def test_the_connectors_first_operation_resets_with_a_one_time_link(
    variant: openapi.Variant,
) -> None:
    document = load(openapi.OUTPUT_FILES[variant])
    first_path = next(iter(document["paths"]))
    first = document["paths"][first_path]["post"]
    assert first["summary"] == "Reset a user's password with a one-time link"
    assert first["x-ms-visibility"] == "important"
    important = [
        op["operationId"]
        for path in document["paths"].values()
        for op in path.values()
        if op["x-ms-visibility"] == "important"
    ]
    assert important == [first["operationId"]]
    delivery = document["definitions"]["ResetPasswordBody"]["properties"]["delivery"]
    assert (delivery["default"], delivery["x-ms-visibility"]) == ("link", "important")
    password = document["definitions"]["ResetPasswordBody"]["properties"]["password"]
    assert password["x-ms-visibility"] == "advanced"


@pytest.mark.parametrize("variant", openapi.VARIANTS)
def test_the_connector_has_no_link_routes(variant: openapi.Variant) -> None:
    assert not set(openapi.LINK_PATHS) & set(load(openapi.OUTPUT_FILES[variant])["paths"])


@pytest.mark.parametrize("name", OPENAPI)
def test_openapi_describes_the_links_page_and_reveal(name: openapi.Document) -> None:
    paths = load(openapi.OUTPUT_FILES[name])["paths"]
    page = paths["/secrets/{linkId}"]["get"]
    assert page["security"] == []
    assert set(page["responses"]["200"]["content"]) == {"text/html"}
    assert "Content-Security-Policy" in page["responses"]["200"]["headers"]
    reveal = paths["/secrets/{linkId}/reveal"]["post"]
    assert reveal["security"] == []
    assert reveal["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SealedPassword"
    }
    assert "secret_gone" in reveal["responses"]["404"]["description"]
    assert "secret_not_ready" in reveal["responses"]["409"]["description"]
    assert "Retry-After" in reveal["responses"]["409"]["headers"]


@pytest.mark.parametrize("name", OPENAPI)
def test_a_real_reveal_answer_validates(name: openapi.Document) -> None:
    link = new_link()
    sealed = seal("Correct-Horse-42", link_id=link.link_id, public_point=link.public_point)
    check_instance(sealed.to_json(), load(openapi.OUTPUT_FILES[name]), "SealedPassword")


@pytest.mark.parametrize("name", OPENAPI)
@pytest.mark.parametrize("error", [SecretGone(), SecretNotReady()], ids=["gone", "not-ready"])
def test_a_real_link_problem_validates(name: openapi.Document, error: DomainError) -> None:
    response = _problem(error, CORRELATION_ID)
    document = load(openapi.OUTPUT_FILES[name])
    check_instance(json.loads(response.get_body()), document, "LinkProblem")
    reveal = document["paths"]["/secrets/{linkId}/reveal"]["post"]
    assert str(response.status_code) in reveal["responses"]
