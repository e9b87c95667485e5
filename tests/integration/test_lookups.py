"""Resets by the names people have: a customer's domain and a user's UPN."""

from __future__ import annotations

import math
import uuid

import pytest

from dev.emulators.samples import (
    SAMPLE_CUSTOMER_DOMAIN,
    SAMPLE_CUSTOMER_ID,
    SAMPLE_USER_ID,
    SAMPLE_USER_UPN,
)
from reset_password.lookups import USER_PAGE_SIZE
from tests.integration.conftest import Harness
from tests.integration.helpers import (
    add_user,
    assert_problem,
    audit_records,
    partner_center_calls,
    start_warm,
)

USERS_PATH = rf"^/v1/customers/{SAMPLE_CUSTOMER_ID}/users$"
CUSTOMERS_PATH = r"^/v1/customers$"


def add_customer(harness: Harness, domain: str, *, users: int = 0) -> str:
    tenant_id = str(uuid.uuid4())
    harness.stack.partner_center.add_customer(tenant_id, domain.partition(".")[0].title(), domain)
    harness.stack.identity.add_domain(domain.lower(), tenant_id)
    for number in range(users):
        add_user(harness, tenant_id, f"user{number:05d}@{domain}")
    return tenant_id


def test_a_reset_by_domain_and_upn_answers_the_resolved_ids(harness: Harness) -> None:
    answer = harness.reset(customer=SAMPLE_CUSTOMER_DOMAIN, user=SAMPLE_USER_UPN)

    assert answer.status == 200
    assert answer.json["customerTenantId"] == SAMPLE_CUSTOMER_ID
    assert answer.json["userId"] == SAMPLE_USER_ID
    [applied] = harness.stack.partner_center.applied_resets
    assert (applied.customer_id, applied.user_id) == (SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID)


def test_a_guest_upn_with_ext_is_refused_without_looking_it_up(harness: Harness) -> None:
    guest = "ada_fabrikam.com#EXT#@contoso.onmicrosoft.com"
    add_user(harness, SAMPLE_CUSTOMER_ID, guest)

    answer = harness.reset(customer=SAMPLE_CUSTOMER_DOMAIN, user=guest)

    assert_problem(answer, 409, "user_is_guest")
    assert partner_center_calls(harness) == []


def test_names_match_whatever_their_case(harness: Harness) -> None:
    answer = harness.reset(customer="Contoso.OnMicrosoft.COM", user="ADA@contoso.onmicrosoft.com")

    assert answer.status == 200
    assert (answer.json["customerTenantId"], answer.json["userId"]) == (
        SAMPLE_CUSTOMER_ID,
        SAMPLE_USER_ID,
    )


def test_an_unknown_upn_is_404_user_not_found(harness: Harness) -> None:
    answer = harness.reset(customer=SAMPLE_CUSTOMER_DOMAIN, user="nobody@contoso.onmicrosoft.com")

    assert_problem(answer, 404, "user_not_found")
    assert harness.stack.partner_center.applied_resets == []


def test_a_upn_that_only_prefixes_a_real_one_is_404(harness: Harness) -> None:
    answer = harness.reset(customer=SAMPLE_CUSTOMER_ID, user="ad@contoso.onmicrosoft.com")

    assert_problem(answer, 404, "user_not_found")


def test_a_percent_encoded_leftover_in_the_upn_is_400_naming_user(harness: Harness) -> None:
    answer = harness.reset(customer=SAMPLE_CUSTOMER_DOMAIN, user="ada%40contoso.onmicrosoft.com")

    problem = assert_problem(answer, 400, "invalid_request")
    assert [e["field"] for e in problem["errors"]] == ["user"]
    assert harness.stack.partner_center.requests == []


def test_a_warm_reset_by_names_confirms_the_upn_then_resets(harness: Harness) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false")
    harness.reset(customer=SAMPLE_CUSTOMER_DOMAIN, user=SAMPLE_USER_UPN)
    start_warm(harness)

    answer = harness.reset(customer=SAMPLE_CUSTOMER_DOMAIN, user=SAMPLE_USER_UPN)

    assert answer.status == 200
    user = f"/v1/customers/{SAMPLE_CUSTOMER_ID}/users/{SAMPLE_USER_ID}"
    assert partner_center_calls(harness) == [("GET", user), ("PATCH", f"{user}/resetpassword")]


def test_with_no_cache_time_names_are_looked_up_on_every_reset(harness: Harness) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false", LOOKUP_CACHE_SECONDS="0")
    harness.reset(customer=SAMPLE_CUSTOMER_DOMAIN, user=SAMPLE_USER_UPN)
    start_warm(harness)

    harness.reset(customer=SAMPLE_CUSTOMER_DOMAIN, user=SAMPLE_USER_UPN)

    assert [method for method, _ in partner_center_calls(harness)] == ["GET", "GET", "GET", "PATCH"]


def test_a_stale_cached_user_is_looked_up_again_and_reset(harness: Harness) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false")
    harness.reset(customer=SAMPLE_CUSTOMER_DOMAIN, user=SAMPLE_USER_UPN)
    pc = harness.stack.partner_center
    pc.remove_user(SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID)
    new_id = add_user(harness, SAMPLE_CUSTOMER_ID, SAMPLE_USER_UPN)

    answer = harness.reset(customer=SAMPLE_CUSTOMER_DOMAIN, user=SAMPLE_USER_UPN)

    assert answer.status == 200
    assert answer.json["userId"] == new_id
    assert pc.applied_resets[-1].user_id == new_id


def test_with_the_guard_on_a_cached_id_that_changed_owner_is_looked_up_again(
    harness: Harness,
) -> None:
    pc = harness.stack.partner_center
    harness.reset(customer=SAMPLE_CUSTOMER_DOMAIN, user=SAMPLE_USER_UPN)
    # The UPN moves to a new account; the old account stays, under another name.
    pc.user(SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID).user_principal_name = "ada.old@contoso.com"
    new_id = add_user(harness, SAMPLE_CUSTOMER_ID, SAMPLE_USER_UPN)

    answer = harness.reset(customer=SAMPLE_CUSTOMER_DOMAIN, user=SAMPLE_USER_UPN)

    assert answer.status == 200
    assert answer.json["userId"] == new_id
    assert [r.user_id for r in pc.applied_resets] == [SAMPLE_USER_ID, new_id]


def test_an_idempotency_key_means_the_same_by_names_or_by_ids(harness: Harness) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false")
    key = {"Idempotency-Key": "ticket-INC0042"}
    harness.reset(customer=SAMPLE_CUSTOMER_DOMAIN, user=SAMPLE_USER_UPN, headers=key)
    harness.reset(customer=SAMPLE_CUSTOMER_ID, user=SAMPLE_USER_ID, headers=key)

    patches = harness.stack.partner_center.requests_to("PATCH", r"/resetpassword$")
    assert len({p.headers["ms-requestid"] for p in patches}) == 1


def test_each_lookup_call_has_its_own_request_id_and_the_resets_correlation_id(
    harness: Harness,
) -> None:
    correlation = str(uuid.uuid4())
    harness.reset(
        customer=SAMPLE_CUSTOMER_DOMAIN,
        user=SAMPLE_USER_UPN,
        headers={"x-correlation-id": correlation},
    )

    calls = harness.stack.partner_center.requests
    assert {r.headers["ms-correlationid"] for r in calls} == {correlation}
    assert len({r.headers["ms-requestid"] for r in calls}) == len(calls)


def test_the_audit_records_what_was_asked_and_what_it_resolved_to(harness: Harness) -> None:
    harness.reset(customer="Contoso.onmicrosoft.com", user=SAMPLE_USER_UPN)

    [record] = audit_records(harness)
    assert record["customerRequested"] == "Contoso.onmicrosoft.com"  # as sent
    assert record["userRequested"] == SAMPLE_USER_UPN
    assert record["customerTenantId"] == SAMPLE_CUSTOMER_ID
    assert record["userId"] == SAMPLE_USER_ID


def test_a_dry_run_resolves_the_names_too(harness: Harness) -> None:
    answer = harness.reset(
        customer=SAMPLE_CUSTOMER_DOMAIN, user=SAMPLE_USER_UPN, params={"dryRun": "true"}
    )

    assert answer.json["status"] == "validated"
    assert answer.json["userId"] == SAMPLE_USER_ID
    assert harness.stack.partner_center.applied_resets == []


@pytest.mark.parametrize(
    ("users", "position"),
    [(10, 9), (1_000, 499), (1_000, 999), (20_000, 9_999), (20_000, 19_999)],
)
def test_a_upn_lookup_reads_the_users_up_to_the_page_that_holds_the_match(
    harness: Harness, users: int, position: int
) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false")
    tenant_id = add_customer(harness, "big.example", users=users)

    answer = harness.reset(customer="big.example", user=f"user{position:05d}@big.example")

    assert answer.status == 200
    pages = harness.stack.partner_center.requests_to("GET", rf"/{tenant_id}/users$")
    assert len(pages) == math.ceil((position + 1) / USER_PAGE_SIZE)
    assert all(p.query["size"] == str(USER_PAGE_SIZE) for p in pages)
    assert [p.query.get("seekOperation") for p in pages[1:]] == ["Next"] * (len(pages) - 1)
