"""Who may reset whom: caller tokens, the customer allow-list, protected accounts, audit."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from dev.emulators.identity import CALLER_APP_ID, CALLER_AUDIENCE
from dev.emulators.samples import (
    NO_GDAP_CUSTOMER_ID,
    SAMPLE_ADMIN_USER_ID,
    SAMPLE_CUSTOMER_ID,
    SAMPLE_FEDERATED_USER_ID,
    SAMPLE_SYNCED_USER_ID,
    SAMPLE_USER_ID,
    SAMPLE_USER_UPN,
)
from shared.directory_roles import PRIVILEGED_ROLES
from tests.integration.conftest import CANARY_PASSWORD, Answer, Harness
from tests.integration.helpers import assert_problem, audit_records, bearer

OTHER_TENANT = "99999999-9999-4999-8999-999999999999"


# --- caller tokens -------------------------------------------------------------------


def test_a_valid_token_with_the_role_may_reset(tokens_on: Harness) -> None:
    assert tokens_on.reset(headers=bearer(tokens_on)).status == 200


def test_without_a_token_the_answer_is_401_with_a_bearer_challenge(tokens_on: Harness) -> None:
    answer = tokens_on.reset()
    assert_problem(answer, 401, "unauthenticated")
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert tokens_on.stack.partner_center.requests == []


def test_a_caller_is_refused_before_its_body_is_looked_at(tokens_on: Harness) -> None:
    assert_problem(tokens_on.reset(b"not json"), 401, "unauthenticated")


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"exp": int(time.time()) - 600}, "expired"),
        ({"nbf": int(time.time()) + 600}, "not yet valid"),
        ({"aud": "api://someone-else"}, "wrong audience"),
        ({"iss": "https://sts.windows.net/not-our-tenant/"}, "wrong issuer"),
        ({"tid": OTHER_TENANT}, "wrong tenant"),
    ],
)
def test_a_token_failing_a_claim_check_is_401(
    tokens_on: Harness, claims: dict[str, Any], why: str
) -> None:
    answer = tokens_on.reset(headers=bearer(tokens_on, claims))
    assert_problem(answer, 401, "unauthenticated")
    assert 'error="invalid_token"' in answer.headers["www-authenticate"], why


def test_a_token_from_another_tenants_issuer_is_401(tokens_on: Harness) -> None:
    issuer = tokens_on.stack.identity.caller_issuer(OTHER_TENANT)
    assert_problem(
        tokens_on.reset(headers=bearer(tokens_on, {"iss": issuer, "tid": OTHER_TENANT})),
        401,
        "unauthenticated",
    )


def test_the_v1_issuer_form_is_accepted(tokens_on: Harness) -> None:
    issuer = f"https://sts.windows.net/{tokens_on.stack.identity.caller_tenant_id}/"
    headers = bearer(tokens_on, {"iss": issuer, "azp": None, "appid": CALLER_APP_ID})
    assert tokens_on.reset(headers=headers).status == 200


def test_alg_none_is_refused(tokens_on: Harness) -> None:
    assert_problem(
        tokens_on.reset(headers=bearer(tokens_on, algorithm="none")), 401, "unauthenticated"
    )


def test_hs256_signed_with_the_public_key_is_refused(tokens_on: Harness) -> None:
    headers = bearer(tokens_on, algorithm="HS256", key=tokens_on.stack.identity.public_key_pem)
    assert_problem(tokens_on.reset(headers=headers), 401, "unauthenticated")


def test_a_token_signed_by_an_unpublished_key_is_refused(tokens_on: Harness) -> None:
    headers = bearer(tokens_on, key=tokens_on.stack.identity.unpublished_key())
    assert_problem(tokens_on.reset(headers=headers), 401, "unauthenticated")


def test_a_foreign_rsa_key_claiming_a_known_kid_is_refused(tokens_on: Harness) -> None:
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(
        {"aud": CALLER_AUDIENCE, "exp": int(time.time()) + 600, "roles": ["PasswordReset.Invoke"]},
        foreign,
        algorithm="RS256",
        headers={"kid": tokens_on.stack.identity.current_kid},
    )
    answer = tokens_on.reset(headers={"Authorization": f"Bearer {token}"})
    assert_problem(answer, 401, "unauthenticated")


def test_a_new_signing_key_is_picked_up_after_rotation(tokens_on: Harness) -> None:
    assert tokens_on.reset(headers=bearer(tokens_on)).status == 200
    fetches = tokens_on.stack.identity.jwks_fetches
    tokens_on.stack.identity.rotate_signing_key()
    tokens_on.timings(caller_key_refresh_floor=0)  # the 10 s floor is its own spec
    fetches = tokens_on.stack.identity.jwks_fetches
    assert tokens_on.reset(headers=bearer(tokens_on)).status == 200
    assert tokens_on.stack.identity.jwks_fetches == fetches + 1


def test_unknown_kids_do_not_hammer_the_key_endpoint(tokens_on: Harness) -> None:
    tokens_on.reset(headers=bearer(tokens_on))
    fetches = tokens_on.stack.identity.jwks_fetches
    for _ in range(5):
        answer = tokens_on.reset(headers=bearer(tokens_on, kid="made-up-kid"))
        assert_problem(answer, 401, "unauthenticated")
    assert tokens_on.stack.identity.jwks_fetches <= fetches + 1


def test_a_token_without_the_role_is_403(tokens_on: Harness) -> None:
    assert_problem(tokens_on.reset(headers=bearer(tokens_on, {"roles": None})), 403, "forbidden")


def test_a_token_with_another_role_is_403(tokens_on: Harness) -> None:
    headers = bearer(tokens_on, {"roles": ["Directory.Read"]})
    assert_problem(tokens_on.reset(headers=headers), 403, "forbidden")


def test_an_easy_auth_principal_header_is_ignored(tokens_on: Harness) -> None:
    forged = {"X-MS-CLIENT-PRINCIPAL": "eyJhdXRoX3R5cCI6ImFhZCJ9", "X-MS-CLIENT-PRINCIPAL-ID": "x"}
    assert_problem(tokens_on.reset(headers=forged), 401, "unauthenticated")


def test_the_key_set_being_unreachable_is_503(tokens_on: Harness) -> None:
    from dev.emulators.faults import Status

    tokens_on.stack.identity.inject(Status(500), times=None, path=r"/discovery/")
    assert_problem(tokens_on.reset(headers=bearer(tokens_on)), 503, "dependency_unavailable")


# --- customer allow-list -----------------------------------------------------------


def test_a_caller_listed_for_the_customer_may_reset(tokens_on: Harness) -> None:
    tokens_on.configure(CALLER_POLICY=json.dumps({CALLER_APP_ID: [SAMPLE_CUSTOMER_ID]}))
    assert tokens_on.reset(headers=bearer(tokens_on)).status == 200


def test_a_caller_listed_for_another_customer_is_403(tokens_on: Harness) -> None:
    tokens_on.configure(CALLER_POLICY=json.dumps({CALLER_APP_ID: [NO_GDAP_CUSTOMER_ID]}))
    assert_problem(tokens_on.reset(headers=bearer(tokens_on)), 403, "forbidden")
    assert tokens_on.stack.partner_center.requests == []


def test_a_star_allows_every_customer(tokens_on: Harness) -> None:
    tokens_on.configure(CALLER_POLICY=json.dumps({CALLER_APP_ID: ["*"]}))
    assert tokens_on.reset(headers=bearer(tokens_on)).status == 200


def test_a_caller_missing_from_the_policy_may_act_on_none(tokens_on: Harness) -> None:
    tokens_on.configure(CALLER_POLICY=json.dumps({str(uuid.uuid4()): ["*"]}))
    assert_problem(tokens_on.reset(headers=bearer(tokens_on)), 403, "forbidden")


def test_the_function_key_caller_can_be_listed_when_tokens_are_off(harness: Harness) -> None:
    harness.configure(CALLER_POLICY=json.dumps({"function-key": [SAMPLE_CUSTOMER_ID]}))
    assert harness.reset().status == 200
    assert_problem(
        harness.reset(customer=NO_GDAP_CUSTOMER_ID, user=str(uuid.uuid4())), 403, "forbidden"
    )


def test_a_malformed_policy_is_reported_at_start_up_and_on_each_request(harness: Harness) -> None:
    from worker.startup import report_settings_problems

    harness.configure(CALLER_POLICY="{not json")
    problems = report_settings_problems()
    assert problems and problems[0].startswith("CALLER_POLICY")
    problem = assert_problem(harness.reset(), 500, "configuration_error")
    assert "CALLER_POLICY" in problem["detail"]


# --- protected accounts ------------------------------------------------------------


@pytest.mark.parametrize("role_id", sorted(PRIVILEGED_ROLES))
def test_each_default_protected_role_is_refused(harness: Harness, role_id: str) -> None:
    user = str(uuid.uuid4())
    harness.stack.partner_center.add_user(
        SAMPLE_CUSTOMER_ID,
        id=user,
        user_principal_name=f"{user[:8]}@contoso.onmicrosoft.com",
        first_name="Role",
        last_name="Holder",
        roles=[(PRIVILEGED_ROLES[role_id], role_id)],
    )
    problem = assert_problem(harness.reset(user=user), 403, "protected_user")
    assert PRIVILEGED_ROLES[role_id] in problem["detail"]
    assert harness.stack.partner_center.applied_resets == []


def test_a_plain_user_is_reset(harness: Harness) -> None:
    assert harness.reset().status == 200


def test_the_guard_can_be_switched_off(harness: Harness) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false")
    assert harness.reset(user=SAMPLE_ADMIN_USER_ID).status == 200


def test_the_protected_list_can_be_replaced(harness: Harness) -> None:
    exchange_admin = harness.stack.partner_center.add_user(
        SAMPLE_CUSTOMER_ID,
        user_principal_name="exchange-admin@contoso.onmicrosoft.com",
        first_name="Exchange",
        last_name="Admin",
        roles=[("Exchange Administrator", "29232cdf-9323-42fd-ade2-1d097af3e4de")],
    ).id
    assert_problem(harness.reset(user=exchange_admin), 403, "protected_user")
    harness.configure(PROTECTED_ROLE_IDS=str(uuid.uuid4()))
    assert harness.reset(user=exchange_admin).status == 200


@pytest.mark.parametrize("user", [SAMPLE_SYNCED_USER_ID, SAMPLE_FEDERATED_USER_ID])
def test_users_not_managed_in_the_cloud_are_409(harness: Harness, user: str) -> None:
    assert_problem(harness.reset(user=user), 409, "user_not_cloud_managed")
    assert harness.stack.partner_center.applied_resets == []


def test_dry_run_still_refuses_a_protected_user(harness: Harness) -> None:
    answer = harness.reset(user=SAMPLE_ADMIN_USER_ID, params={"dryRun": "true"})
    assert_problem(answer, 403, "protected_user")


def test_dry_run_with_a_caller_token_validates_everything(tokens_on: Harness) -> None:
    answer = tokens_on.reset(headers=bearer(tokens_on), params={"dryRun": "true"})
    assert answer.status == 200 and answer.json["status"] == "validated"
    assert tokens_on.stack.partner_center.applied_resets == []


# --- audit -----------------------------------------------------------------------------


def test_a_success_is_audited_with_who_what_and_how(tokens_on: Harness) -> None:
    answer = tokens_on.reset(
        {"password": CANARY_PASSWORD, "ticketId": "INC42"},
        headers={**bearer(tokens_on), "Idempotency-Key": "k1"},
    )
    [record] = audit_records(tokens_on)
    assert record["event"] == "password_reset.audit"
    assert record["caller"]["appId"] == CALLER_APP_ID
    assert record["caller"]["kind"] == "entra-application"
    assert record["customerTenantId"] == SAMPLE_CUSTOMER_ID
    assert record["userId"] == SAMPLE_USER_ID
    assert record["userPrincipalName"] == SAMPLE_USER_UPN
    assert record["ticketId"] == "INC42"
    assert record["outcome"] == "succeeded"
    assert record["httpStatus"] == 200
    assert record["correlationId"] == answer.json["correlationId"]
    [patch] = tokens_on.stack.partner_center.requests_to("PATCH", "/resetpassword$")
    assert record["requestId"] == patch.headers["ms-requestid"]
    assert record["attempts"] == 1
    assert record["durationMs"] > 0
    assert record["dryRun"] is False


@pytest.mark.parametrize(
    ("setup", "code", "status"),
    [
        ("no_token", "unauthenticated", 401),
        ("bad_body", "invalid_request", 400),
        ("protected", "protected_user", 403),
        ("upstream_404", "user_not_found", 404),
    ],
)
def test_each_failure_class_is_audited(
    tokens_on: Harness, setup: str, code: str, status: int
) -> None:
    headers = {} if setup == "no_token" else bearer(tokens_on)
    body: dict[str, Any] = (
        {"password": "weak"} if setup == "bad_body" else {"password": CANARY_PASSWORD}
    )
    user = {"protected": SAMPLE_ADMIN_USER_ID, "upstream_404": str(uuid.uuid4())}.get(
        setup, SAMPLE_USER_ID
    )
    answer: Answer = tokens_on.reset(body, user=user, headers=headers)
    assert answer.status == status
    [record] = audit_records(tokens_on)
    assert record["outcome"] == code
    assert record["httpStatus"] == status
    assert CANARY_PASSWORD not in json.dumps(record)
