"""The whole request fuzzed: path, headers, query and body. Never a 500, never the password."""

from __future__ import annotations

import json
import os
import string
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dev.emulators.faults import Status
from dev.emulators.samples import (
    SAMPLE_ADMIN_USER_ID,
    SAMPLE_CUSTOMER_DOMAIN,
    SAMPLE_CUSTOMER_ID,
    SAMPLE_USER_ID,
    SAMPLE_USER_UPN,
)
from shared.retry import RetryPolicy
from tests.integration.conftest import CANARY_PASSWORD, Harness

customers = st.one_of(
    st.just(SAMPLE_CUSTOMER_ID),
    st.just(SAMPLE_CUSTOMER_DOMAIN),
    st.just(SAMPLE_CUSTOMER_ID.upper()),
    st.uuids().map(str),
    st.text(max_size=40),
    st.from_regex(r"[a-z0-9-]{1,12}(\.[a-z]{2,6}){1,2}", fullmatch=True),
)
users = st.one_of(
    st.just(SAMPLE_USER_ID),
    st.just(SAMPLE_USER_UPN),
    st.just(SAMPLE_ADMIN_USER_ID),
    st.uuids().map(str),
    st.text(max_size=40),
    st.from_regex(r"[a-z.]{1,10}@[a-z]{1,8}\.com", fullmatch=True),
)
header_text = st.text(alphabet=string.printable, max_size=60)
headers = st.fixed_dictionaries(
    {},
    optional={
        "Content-Type": st.sampled_from(
            ["application/json", "application/json; charset=utf-8", "text/plain", "", "x/y"]
        )
        | header_text,
        "x-correlation-id": st.uuids().map(str) | header_text,
        "MS-CorrelationId": st.uuids().map(str) | header_text,
        "Idempotency-Key": header_text,
        "Authorization": header_text,
        "X-MS-CLIENT-PRINCIPAL": header_text,
    },
)
json_leaf = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
json_values = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
bodies = st.one_of(
    st.fixed_dictionaries(
        {"password": st.just(CANARY_PASSWORD)},
        optional={
            "forceChangePassword": st.booleans() | json_values,
            "ticketId": st.text(max_size=70) | json_values,
            "extra": json_values,
        },
    ).map(lambda body: json.dumps(body).encode()),
    st.binary(max_size=64).map(lambda raw: CANARY_PASSWORD.encode() + raw),
    st.just(json.dumps({"password": CANARY_PASSWORD}).encode()[:-3]),
)
queries = st.fixed_dictionaries(
    {},
    optional={
        "dryRun": st.sampled_from(["true", "false", "x", "", "true,true"]),
        "code": header_text,
        "dryrun": st.just("true"),
    },
)


# Example counts come from the Hypothesis profile (tests/conftest.py): `deep` for fuzzing.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(customer=customers, user=users, headers=headers, body=bodies, query=queries)
def test_no_request_answers_500_or_echoes_the_password(
    harness: Harness,
    customer: str,
    user: str,
    headers: dict[str, str],
    body: bytes,
    query: dict[str, str],
) -> None:
    answer = harness.reset(body, customer=customer, user=user, headers=headers, params=query)
    assert answer.status < 500, answer.raw
    visible = answer.raw.decode(errors="replace") + json.dumps(answer.headers)
    assert CANARY_PASSWORD not in visible
    if answer.mimetype == "application/problem+json":
        problem: dict[str, Any] = answer.json
        assert uuid.UUID(problem["correlationId"])
        assert problem["code"]


upstream_strings = st.one_of(
    st.just(CANARY_PASSWORD),
    st.text(max_size=20).map(lambda text: text + CANARY_PASSWORD),
    st.integers(min_value=-(10**12), max_value=10**12),
    json_values,
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    status=st.sampled_from([400, 401, 403, 404, 409, 429, 500, 503]),
    code=upstream_strings,
    description=upstream_strings,
    retry_after=st.none() | header_text,
)
def test_no_upstream_error_answer_puts_the_password_in_an_answer_or_a_log(
    harness: Harness, status: int, code: object, description: object, retry_after: str | None
) -> None:
    """Partner Center quoting the password in its error (code, description) never leaks
    it; the harness searches every captured log line when the test ends."""
    headers = {"Retry-After": retry_after.strip()} if retry_after and retry_after.strip() else {}
    echo = {"code": code, "description": description, "message": CANARY_PASSWORD}
    harness.stack.partner_center.inject(
        Status(status, echo, headers), times=None, path=r"/resetpassword$"
    )
    if os.environ.get("RESET_DEADLINE_SECONDS") != "1":
        # Once: later examples stay warm. Retries back off without waiting.
        harness.timings(retry=RetryPolicy(base_delay=0.001, max_retry_after=0.001))
        # The guard's reads only add round trips: the PATCH's error path is under test.
        harness.configure(RESET_DEADLINE_SECONDS="1", PROTECTED_ROLE_GUARD="false")
    answer = harness.reset()
    harness.stack.partner_center.clear_faults()
    assert answer.status < 500 or answer.status in (502, 503, 504), answer.raw
    assert CANARY_PASSWORD not in answer.raw.decode(errors="replace") + json.dumps(answer.headers)
