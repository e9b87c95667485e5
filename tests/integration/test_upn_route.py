"""`POST /api/users/{user}/resetpassword`: the user named by userPrincipalName alone. The
customer is the tenant that verified the UPN's domain (after `#EXT#@` for a guest),
learnt from the identity platform's OpenID discovery document and confirmed with
Partner Center. The same discovery resolves any verified domain given as `{customer}`
on the full route."""

from __future__ import annotations

import json
import uuid

import pytest

from dev.emulators.faults import Status
from dev.emulators.samples import (
    NO_GDAP_CUSTOMER_ID,
    NON_CUSTOMER_DOMAIN,
    NON_CUSTOMER_TENANT_ID,
    PARTNER_DOMAIN,
    SAMPLE_CUSTOM_DOMAIN,
    SAMPLE_CUSTOM_DOMAIN_USER_ID,
    SAMPLE_CUSTOM_DOMAIN_USER_UPN,
    SAMPLE_CUSTOMER_DOMAIN,
    SAMPLE_CUSTOMER_ID,
    SAMPLE_GUEST_USER_UPN,
    SAMPLE_USER_ID,
    SAMPLE_USER_UPN,
)
from tests.integration.conftest import CANARY_PASSWORD, Harness
from tests.integration.helpers import (
    assert_problem,
    audit_records,
    discoveries,
    reset_by_upn,
    start_warm,
)

RESET = r"/resetpassword$"
# How a caller puts the guest's UPN in a URL: '#' would start a fragment, so it is escaped.
GUEST_AS_SENT = SAMPLE_GUEST_USER_UPN.replace("#", "%23").replace("@", "%40")


# A member whose UPN holds '#' (Entra allows it) without being a guest's #EXT#.
HASH_UPN = "ops#7_desk@contoso.onmicrosoft.com"
HASH_AS_SENT = HASH_UPN.replace("#", "%23").replace("@", "%40")


def add_hash_user(harness: Harness) -> str:
    return harness.stack.partner_center.add_user(
        SAMPLE_CUSTOMER_ID, user_principal_name=HASH_UPN, first_name="Ops", last_name="Desk"
    ).id


def nothing_went_upstream(harness: Harness) -> bool:
    return all(server.requests == [] for server in harness.stack.servers)


# --- which customer ---------------------------------------------------------------------


def test_a_upn_on_the_onmicrosoft_domain_resets_that_user(harness: Harness) -> None:
    answer = reset_by_upn(harness, SAMPLE_USER_UPN)

    assert answer.status == 200
    assert answer.json["customerTenantId"] == SAMPLE_CUSTOMER_ID
    assert answer.json["userId"] == SAMPLE_USER_ID
    assert answer.json["userPrincipalName"] == SAMPLE_USER_UPN
    [applied] = harness.stack.partner_center.applied_resets
    assert (applied.customer_id, applied.user_id) == (SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID)
    assert discoveries(harness) == [SAMPLE_CUSTOMER_DOMAIN]


def test_a_upn_on_a_custom_domain_finds_the_tenant_that_verified_it(harness: Harness) -> None:
    answer = reset_by_upn(harness, SAMPLE_CUSTOM_DOMAIN_USER_UPN)

    assert answer.status == 200
    assert answer.json["customerTenantId"] == SAMPLE_CUSTOMER_ID
    assert answer.json["userId"] == SAMPLE_CUSTOM_DOMAIN_USER_ID
    assert discoveries(harness) == [SAMPLE_CUSTOM_DOMAIN]


def test_a_guest_upn_sent_percent_encoded_is_refused_in_the_tenant_after_ext(
    harness: Harness,
) -> None:
    """A guest is 409 user_is_guest (tests/integration/test_guests.py); its customer is
    still the tenant after #EXT#@, learnt before the refusal (CALLER_POLICY comes first)."""
    answer = reset_by_upn(harness, GUEST_AS_SENT)

    assert_problem(answer, 409, "user_is_guest")
    # The guest's home domain (fabrikam.com, before #EXT#) is never asked about.
    assert discoveries(harness) == [SAMPLE_CUSTOMER_DOMAIN]
    assert harness.stack.partner_center.requests == []
    [record] = audit_records(harness)
    assert record["customerTenantId"] == SAMPLE_CUSTOMER_ID


def test_a_upn_holding_a_hash_sent_percent_encoded_resets_that_user(harness: Harness) -> None:
    user_id = add_hash_user(harness)

    answer = reset_by_upn(harness, HASH_AS_SENT)

    assert answer.status == 200
    assert answer.json["customerTenantId"] == SAMPLE_CUSTOMER_ID
    assert answer.json["userId"] == user_id
    assert answer.json["userPrincipalName"] == HASH_UPN


def test_a_upn_in_any_letter_case_resolves(harness: Harness) -> None:
    answer = reset_by_upn(harness, "ADA@Contoso.OnMicrosoft.COM")

    assert answer.status == 200
    assert answer.json["userId"] == SAMPLE_USER_ID


def test_the_upn_is_confirmed_with_one_read_before_the_reset_even_warm(
    harness: Harness,
) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false")
    reset_by_upn(harness)
    start_warm(harness)

    assert reset_by_upn(harness).status == 200

    user = f"/v1/customers/{SAMPLE_CUSTOMER_ID}/users/{SAMPLE_USER_ID}"
    calls = [(r.method, r.path) for r in harness.stack.partner_center.requests]
    assert calls == [("GET", user), ("PATCH", f"{user}/resetpassword")]
    assert discoveries(harness) == []


# --- no such customer ----------------------------------------------------------------


def test_a_domain_no_tenant_verified_is_404_customer_not_found(harness: Harness) -> None:
    answer = reset_by_upn(harness, "someone@nobody-verified-this.example")

    assert_problem(answer, 404, "customer_not_found")
    assert harness.stack.partner_center.requests == []


def test_a_tenant_that_is_not_a_customer_is_404_customer_not_found(harness: Harness) -> None:
    answer = reset_by_upn(harness, f"someone@{NON_CUSTOMER_DOMAIN}")

    assert_problem(answer, 404, "customer_not_found")
    assert harness.stack.partner_center.requests_to(
        "GET", f"/v1/customers/{NON_CUSTOMER_TENANT_ID}$"
    )
    assert harness.stack.partner_center.applied_resets == []


def test_the_partners_own_domain_is_no_customer(harness: Harness) -> None:
    assert_problem(reset_by_upn(harness, f"admin@{PARTNER_DOMAIN}"), 404, "customer_not_found")
    assert harness.stack.partner_center.applied_resets == []


def test_an_unknown_user_in_a_known_customer_is_404_user_not_found(harness: Harness) -> None:
    answer = reset_by_upn(harness, "nobody@contoso.com")

    assert_problem(answer, 404, "user_not_found")


@pytest.mark.parametrize(
    "user",
    [
        "someone@nobody-verified-this.example",
        f"someone@{NON_CUSTOMER_DOMAIN}",
        "nancy@fabrikam.com",  # a customer, but not one this caller may act on
    ],
)
def test_a_restricted_caller_gets_one_403_for_any_customer_it_may_not_act_on(
    harness: Harness, user: str
) -> None:
    harness.configure(CALLER_POLICY=json.dumps({"function-key": [SAMPLE_CUSTOMER_ID]}))

    problem = assert_problem(reset_by_upn(harness, user), 403, "forbidden")

    assert problem["detail"] == "This caller may not act on the customer it named."
    for tenant in (NON_CUSTOMER_TENANT_ID, NO_GDAP_CUSTOMER_ID):
        assert tenant not in json.dumps(problem)
    assert harness.stack.partner_center.applied_resets == []


def test_a_restricted_caller_still_resets_in_its_own_customer_by_upn(harness: Harness) -> None:
    harness.configure(CALLER_POLICY=json.dumps({"function-key": [SAMPLE_CUSTOMER_ID]}))

    assert reset_by_upn(harness, SAMPLE_CUSTOM_DOMAIN_USER_UPN).status == 200


# --- discovery is cached, misses too ---------------------------------------------------------


def test_a_discovered_domain_is_not_looked_up_again(harness: Harness) -> None:
    reset_by_upn(harness, SAMPLE_USER_UPN)
    reset_by_upn(harness, SAMPLE_USER_UPN)
    reset_by_upn(harness, SAMPLE_CUSTOM_DOMAIN_USER_UPN)
    reset_by_upn(harness, SAMPLE_CUSTOM_DOMAIN_USER_UPN)

    assert discoveries(harness) == [SAMPLE_CUSTOMER_DOMAIN, SAMPLE_CUSTOM_DOMAIN]
    confirm = harness.stack.partner_center.requests_to(
        "GET", f"/v1/customers/{SAMPLE_CUSTOMER_ID}$"
    )
    assert len(confirm) == 1  # once per tenant: both domains name Contoso


def test_a_domain_no_tenant_verified_is_remembered_as_missing(harness: Harness) -> None:
    for _ in range(3):
        assert_problem(
            reset_by_upn(harness, "x@nobody-verified-this.example"), 404, "customer_not_found"
        )

    assert discoveries(harness) == ["nobody-verified-this.example"]


def test_a_tenant_that_is_no_customer_is_remembered_as_missing(harness: Harness) -> None:
    for _ in range(3):
        assert_problem(reset_by_upn(harness, f"x@{NON_CUSTOMER_DOMAIN}"), 404, "customer_not_found")

    assert discoveries(harness) == [NON_CUSTOMER_DOMAIN]
    assert len(harness.stack.partner_center.requests) == 1


def test_misses_are_looked_up_again_once_the_miss_cache_time_is_over(harness: Harness) -> None:
    harness.configure(LOOKUP_MISS_CACHE_SECONDS="0")
    reset_by_upn(harness, "x@nobody-verified-this.example")
    reset_by_upn(harness, "x@nobody-verified-this.example")

    assert len(discoveries(harness)) == 2


def test_a_discovery_5xx_is_retried(harness: Harness) -> None:
    harness.stack.identity.inject(Status(503), path=r"/openid-configuration$")

    assert reset_by_upn(harness).status == 200
    assert discoveries(harness) == [SAMPLE_CUSTOMER_DOMAIN] * 2


def test_discovery_that_stays_down_is_503_with_retry_after(harness: Harness) -> None:
    harness.stack.identity.inject(Status(500), times=None, path=r"/openid-configuration$")

    answer = reset_by_upn(harness)

    assert_problem(answer, 503, "dependency_unavailable")
    assert int(answer.headers["retry-after"]) > 0
    assert harness.stack.partner_center.applied_resets == []


def test_a_discovery_document_naming_no_tenant_is_503(harness: Harness) -> None:
    harness.stack.identity.inject(
        Status(200, {"issuer": "https://elsewhere.example/not-a-tenant/v2.0"}),
        path=r"/openid-configuration$",
    )

    assert_problem(reset_by_upn(harness), 503, "dependency_unavailable")
    assert harness.stack.partner_center.applied_resets == []


# --- syntax: refused before anything goes upstream -----------------------------------------


@pytest.mark.parametrize(
    "user_as_sent",
    [
        SAMPLE_USER_ID,  # an object ID names no tenant: this route needs a UPN
        "ada",
        "ada%40",
        "%40contoso.com",
        "ada%40%40contoso.com",
        "ada%40contoso",
        "a..b%40contoso.com",
        ".ada%40contoso.com",
        "ada%2540contoso.com",  # encoded twice
        "ad%C3%A1%40contoso.com",  # not ASCII
        "ada%40contoso.com.",
        "ada%40-contoso.com",
        "ada%20lovelace%40contoso.com",
    ],
)
def test_a_value_that_is_no_upn_is_400_naming_user_before_any_upstream_call(
    harness: Harness, user_as_sent: str
) -> None:
    problem = assert_problem(reset_by_upn(harness, user_as_sent), 400, "invalid_request")

    assert [e["field"] for e in problem["errors"]] == ["user"]
    assert "userPrincipalName" in problem["errors"][0]["message"]
    assert nothing_went_upstream(harness)


# --- everything else as on the full route ----------------------------------------------------


def test_an_unknown_body_field_is_400_naming_it(harness: Harness) -> None:
    answer = reset_by_upn(harness, body={"password": CANARY_PASSWORD, "role": "admin"})

    problem = assert_problem(answer, 400, "invalid_request")
    assert [e["field"] for e in problem["errors"]] == ["role"]
    assert nothing_went_upstream(harness)


def test_a_weak_password_is_400_naming_the_rule(harness: Harness) -> None:
    problem = assert_problem(
        reset_by_upn(harness, body={"password": "weakpassword"}), 400, "invalid_request"
    )
    assert [e["field"] for e in problem["errors"]] == ["password"]
    assert nothing_went_upstream(harness)


def test_several_problems_are_reported_together(harness: Harness) -> None:
    answer = reset_by_upn(harness, "not-a-upn", {"password": "weak"}, params={"dryrun": "true"})

    problem = assert_problem(answer, 400, "invalid_request")
    assert {e["field"] for e in problem["errors"]} == {"user", "password", "dryrun"}


def test_a_dry_run_resolves_and_checks_but_resets_nothing(harness: Harness) -> None:
    answer = reset_by_upn(harness, SAMPLE_CUSTOM_DOMAIN_USER_UPN, params={"dryRun": "TRUE"})

    assert answer.status == 200
    assert answer.json["status"] == "validated"
    assert answer.json["userId"] == SAMPLE_CUSTOM_DOMAIN_USER_ID
    assert harness.stack.partner_center.applied_resets == []


def test_a_misspelt_dry_run_is_400_and_nothing_goes_upstream(harness: Harness) -> None:
    problem = assert_problem(
        reset_by_upn(harness, params={"dry_run": "true"}), 400, "invalid_request"
    )
    assert [e["field"] for e in problem["errors"]] == ["dry_run"]
    assert nothing_went_upstream(harness)


def test_the_guard_refuses_a_protected_user_named_by_upn(harness: Harness) -> None:
    answer = reset_by_upn(harness, "grace%40contoso.onmicrosoft.com")

    assert_problem(answer, 403, "protected_user")
    assert harness.stack.partner_center.applied_resets == []


def test_the_same_idempotency_key_gives_the_same_request_id_by_upn_or_by_ids(
    harness: Harness,
) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false")
    key = {"Idempotency-Key": "INC0042-1"}
    reset_by_upn(harness, headers=key)
    reset_by_upn(harness, headers=key)
    harness.reset(customer=SAMPLE_CUSTOMER_ID, user=SAMPLE_USER_ID, headers=key)

    patches = harness.stack.partner_center.requests_to("PATCH", RESET)
    assert len(patches) == 3
    assert len({p.headers["ms-requestid"] for p in patches}) == 1


def test_a_bad_idempotency_key_is_400(harness: Harness) -> None:
    answer = reset_by_upn(harness, headers={"Idempotency-Key": "x" * 129})

    problem = assert_problem(answer, 400, "invalid_request")
    assert [e["field"] for e in problem["errors"]] == ["Idempotency-Key"]


def test_the_correlation_id_reaches_discovery_and_partner_center(harness: Harness) -> None:
    correlation = str(uuid.uuid4())
    answer = reset_by_upn(harness, headers={"x-correlation-id": correlation})

    assert answer.json["correlationId"] == correlation
    assert {r.headers["ms-correlationid"] for r in harness.stack.partner_center.requests} == {
        correlation
    }


def test_revoke_sessions_works_by_upn_too(harness: Harness) -> None:
    answer = reset_by_upn(harness, body={"password": CANARY_PASSWORD, "revokeSessions": True})

    assert answer.json["sessionsRevoked"] is True
    [revoked] = harness.stack.graph.revocations
    assert (revoked.tenant_id, revoked.user_id) == (SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID)


def test_the_audit_records_the_upn_as_sent_and_the_ids_it_resolved_to(harness: Harness) -> None:
    user_id = add_hash_user(harness)
    reset_by_upn(harness, HASH_AS_SENT, {"password": CANARY_PASSWORD, "ticketId": "INC7"})

    [record] = audit_records(harness)
    assert record["customerRequested"] is None  # this route names no customer
    assert record["userRequested"] == HASH_UPN
    assert record["customerTenantId"] == SAMPLE_CUSTOMER_ID
    assert record["userId"] == user_id
    assert record["ticketId"] == "INC7"
    assert record["outcome"] == "succeeded"


def test_the_audit_records_a_refused_upn(harness: Harness) -> None:
    reset_by_upn(harness, "not-a-upn")

    [record] = audit_records(harness)
    assert record["userRequested"] == "not-a-upn"
    assert (record["outcome"], record["httpStatus"]) == ("invalid_request", 400)


@pytest.mark.parametrize(
    "user_as_sent",
    [
        SAMPLE_USER_UPN,
        GUEST_AS_SENT,
        HASH_AS_SENT,
        "x@nobody-verified-this.example",
        f"x@{NON_CUSTOMER_DOMAIN}",
        "bad",
    ],
)
def test_no_password_or_token_leaks_on_any_outcome(harness: Harness, user_as_sent: str) -> None:
    reset_by_upn(harness, user_as_sent)

    harness.assert_nothing_leaked()
    for server in harness.stack.servers:
        for request in server.requests:
            if server is not harness.stack.partner_center:
                assert CANARY_PASSWORD.encode() not in request.body


# --- the full route with any verified domain ----------------------------------------------


def test_the_full_route_takes_a_custom_verified_domain_as_customer(harness: Harness) -> None:
    answer = harness.reset(customer=SAMPLE_CUSTOM_DOMAIN, user=SAMPLE_USER_ID)

    assert answer.status == 200
    assert answer.json["customerTenantId"] == SAMPLE_CUSTOMER_ID
    assert discoveries(harness) == [SAMPLE_CUSTOM_DOMAIN]


def test_the_full_route_with_a_custom_domain_and_a_upn_on_another_domain(
    harness: Harness,
) -> None:
    answer = harness.reset(customer=SAMPLE_CUSTOM_DOMAIN, user=SAMPLE_USER_UPN)

    assert answer.status == 200
    assert answer.json["userId"] == SAMPLE_USER_ID


def test_the_full_route_with_a_non_customer_domain_is_404(harness: Harness) -> None:
    answer = harness.reset(customer=NON_CUSTOMER_DOMAIN, user=SAMPLE_USER_ID)

    assert_problem(answer, 404, "customer_not_found")
    assert harness.stack.partner_center.applied_resets == []


def test_the_full_route_never_answers_ambiguous_customer(harness: Harness) -> None:
    # Discovery names one tenant per domain: two customers can never share a domain.
    answer = harness.reset(customer=SAMPLE_CUSTOMER_DOMAIN, user=SAMPLE_USER_ID)

    assert answer.status == 200
    assert harness.stack.partner_center.requests_to("GET", r"^/v1/customers$") == []
