"""schemathesis, an off-the-shelf property-based API tester, against the running function
with the published OpenAPI 3.0.3 document (docs/openapi-3.0.json), as an API Management
or ServiceNow import would read it.

The requests go over loopback to the local host stand-in (dev/localhost.py) and the
emulators behind it, as `python3 dev/run.py` serves them; schemathesis is given that base
URL and nothing else. For every operation: no answer is a 5xx; every answer's status,
media type and body are ones the document describes; and a request schemathesis
generated as valid is never refused with 400 (the documents call it valid, so no
documented rule may refuse it). A 404 for a customer or user that does not exist is
fine: most generated names name nobody, so each reset route runs a second time with the
sample customer and user in the path and everything else generated, which resets for
real (in the emulators), a generated `delivery` included: its links go to Azurite.

One rule no schema can state is the function's alone, and so the one 400 a generated
request may get: an `Idempotency-Key` header with a `delivery` body (the descriptions say
so). The one-time link's page and reveal are exercised too: a generated link ID names no
link, so both answer "gone", as documented; so is a batch's status (a generated batch ID
names no batch). The batch's POST is not (OPERATIONS says why).

The examples are few, so the run costs seconds: SCHEMATHESIS_EXAMPLES=500 (or
HYPOTHESIS_PROFILE=deep, twenty times the default) runs a deeper one.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dev import openapi
from dev.emulators.samples import SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID, SAMPLE_USER_UPN
from dev.localhost import LocalFunctionsHost
from tests.integration.conftest import FUNCTION_KEY

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Per operation. Building the strategies costs more than the requests.
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", max(8, settings().max_examples // 10)))
# Each operation, and path values fixed to the sample data (the rest generated).
OPERATIONS = [
    pytest.param(openapi.path_of("reset_password"), "POST", {}, id="reset"),
    pytest.param(
        openapi.path_of("reset_password"),
        "POST",
        {"customer": SAMPLE_CUSTOMER_ID, "user": SAMPLE_USER_ID},
        id="reset-sample-user",
    ),
    pytest.param(openapi.path_of("reset_password_by_upn"), "POST", {}, id="reset-by-upn"),
    pytest.param(
        openapi.path_of("reset_password_by_upn"),
        "POST",
        {"user": SAMPLE_USER_UPN},
        id="reset-by-upn-sample",
    ),
    pytest.param(openapi.path_of("health"), "GET", {}, id="health"),
    pytest.param(openapi.path_of("credentials_health"), "GET", {}, id="credentials-health"),
    pytest.param(openapi.path_of("secret_link_page"), "GET", {}, id="secret-link-page"),
    pytest.param(openapi.path_of("secret_link_reveal"), "POST", {}, id="secret-link-reveal"),
    # A generated batch ID names no batch: 404 batch_not_found, or 400 for a page or
    # parameter the document refuses too. The batch's POST is left out: its strategy (up to
    # a thousand users, each from the UPN pattern) costs ~3 s per run here, doubling this
    # file's time, and test_api_documents.py already holds generated batches to all three
    # documents, Azurite behind them.
    pytest.param(openapi.path_of("batch_status"), "GET", {}, id="batch-status"),
]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    value = json.loads(openapi.OUTPUT_FILES["openapi30"].read_text(encoding="utf-8"))
    assert value["openapi"] == "3.0.3"
    assert isinstance(value, dict)
    return value


def refused_as_invalid(case: schemathesis.Case[Any], status: int, body: Any) -> str | None:
    """Why a 400 to a request the document calls valid is a disagreement, or None."""
    if status != 400:
        return None
    fields = [e.get("field") for e in (body or {}).get("errors", []) if isinstance(e, dict)]
    sent = case.body if isinstance(case.body, dict) else {}
    headers = {name.lower() for name in (case.headers or {})}
    if fields == ["Idempotency-Key"] and "delivery" in sent and "idempotency-key" in headers:
        return None
    return f"refused {fields or body} although schemathesis generated it from the document"


def _json_or_none(content: bytes | None) -> Any:
    """The answer's JSON; None for no body or a page (the link's is HTML)."""
    try:
        return json.loads(content) if content else None
    except ValueError:
        return None


@pytest.mark.parametrize(("path", "method", "path_values"), OPERATIONS)
def test_schemathesis_finds_no_answer_the_document_does_not_describe(
    host: LocalFunctionsHost,
    document: dict[str, Any],
    path: str,
    method: str,
    path_values: dict[str, str],
) -> None:
    schema = schemathesis.openapi.from_dict(document)
    operation = schema[path][method]
    base_url = f"http://127.0.0.1:{host.port}{openapi.BASE_PATH}"
    generated: list[int] = []
    # What became of generated requests with a delivery (a real link in Azurite, or not).
    delivered: list[int] = []

    @given(case=operation.as_strategy(path_parameters=path_values or None))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def exercise(case: schemathesis.Case[Any]) -> None:
        response = case.call(base_url=base_url, headers={"x-functions-key": FUNCTION_KEY})
        # Only the local host is ever called, never the document's placeholder server.
        assert urlsplit(str(response.request.url)).hostname == "127.0.0.1"
        generated.append(response.status_code)
        if isinstance(case.body, dict) and "delivery" in case.body:
            delivered.append(response.status_code)
        case.validate_response(response, checks=CHECKS)
        body = _json_or_none(response.content)
        refusal = refused_as_invalid(case, response.status_code, body)
        assert refusal is None, f"{case.as_curl_command()}\n{refusal}"

    exercise()
    # An operation without parameters has one request to make; the others have many.
    assert generated, "schemathesis generated no request"
    if path_values:
        # The sample user exists: the function reset it (or validated the dry run), with
        # a password the function generated too.
        assert 200 in generated, generated
        assert 200 in delivered, delivered
