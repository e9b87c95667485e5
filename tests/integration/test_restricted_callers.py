"""A caller whose CALLER_POLICY entry is a list learns nothing about customers outside it.

A customer outside the list (named by tenant ID or by domain) and a domain that names no
customer get the same 403, naming no tenant, and cost no Partner Center call: a tenant
ID is compared with the list at once, a domain after the identity platform's public
OpenID discovery, before Partner Center hears of it. So neither the answer nor what
goes upstream (hence neither the latency) can tell the partner's customers from
strangers, asked once, twice, or after a remembered miss has expired.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from dev.emulators.identity import CALLER_APP_ID
from dev.emulators.samples import (
    NO_GDAP_CUSTOMER_DOMAIN,
    NO_GDAP_CUSTOMER_ID,
    NO_GDAP_USER_ID,
    NON_CUSTOMER_DOMAIN,
    NON_CUSTOMER_TENANT_ID,
    SAMPLE_CUSTOM_DOMAIN,
    SAMPLE_CUSTOMER_DOMAIN,
    SAMPLE_CUSTOMER_ID,
    SAMPLE_USER_ID,
    SAMPLE_USER_UPN,
)
from tests.integration.conftest import Harness
from tests.integration.helpers import (
    assert_problem,
    bearer,
    discoveries,
    partner_center_calls,
    reset_by_upn,
    without_correlation,
)

UNVERIFIED_DOMAIN = "nobody-verified-this.example"
# Three kinds of customer a caller limited to Contoso may not act on: a customer of the
# partner (Fabrikam), a real tenant that is no customer, a domain no tenant verified.
OUTSIDE_DOMAINS = [NO_GDAP_CUSTOMER_DOMAIN, NON_CUSTOMER_DOMAIN, UNVERIFIED_DOMAIN]
OUTSIDE_IDS = [NO_GDAP_CUSTOMER_ID, NON_CUSTOMER_TENANT_ID]
# Past LOOKUP_MISS_CACHE_SECONDS (60 by default): a remembered miss has expired.
AFTER_THE_MISS_TTL = 61.0


@pytest.fixture
def restricted(harness: Harness) -> Harness:
    """The function-key caller may act on Contoso alone; the lookup cache's clock is
    the test's, so a spec can let a remembered miss expire without waiting."""
    harness.monkeypatch.setenv("CALLER_POLICY", json.dumps({"function-key": [SAMPLE_CUSTOMER_ID]}))
    harness.timings(lookup_clock=harness.clock.now)
    return harness


def upstream_calls_but_discovery(harness: Harness) -> list[tuple[str, str]]:
    """Every call to any emulator except the public OpenID discovery of a domain."""
    return [
        (r.method, r.path)
        for server in harness.stack.servers
        for r in server.requests
        if not r.path.endswith("/v2.0/.well-known/openid-configuration")
    ]


def forget_requests(harness: Harness) -> None:
    for server in harness.stack.servers:
        server.clear_requests()


# --- by tenant ID: compared with the list at once ----------------------------------------


@pytest.mark.parametrize("tenant_id", OUTSIDE_IDS)
def test_a_tenant_id_outside_the_list_is_403_before_any_upstream_call(
    restricted: Harness, tenant_id: str
) -> None:
    problem = assert_problem(
        restricted.reset(customer=tenant_id, user=SAMPLE_USER_ID), 403, "forbidden"
    )

    assert tenant_id not in json.dumps(problem)
    assert all(server.requests == [] for server in restricted.stack.servers)


# --- by domain: discovery, then the list, then Partner Center -----------------------------


@pytest.mark.parametrize("domain", OUTSIDE_DOMAINS)
def test_a_domain_outside_the_list_is_403_with_no_partner_center_call(
    restricted: Harness, domain: str
) -> None:
    problem = assert_problem(
        restricted.reset(customer=domain, user=SAMPLE_USER_ID), 403, "forbidden"
    )

    assert problem["detail"] == "This caller may not act on the customer it named."
    assert partner_center_calls(restricted) == []
    assert upstream_calls_but_discovery(restricted) == []
    assert discoveries(restricted) == [domain]


@pytest.mark.parametrize("domain", OUTSIDE_DOMAINS)
def test_a_upn_outside_the_list_is_403_with_no_partner_center_call(
    restricted: Harness, domain: str
) -> None:
    assert_problem(reset_by_upn(restricted, f"someone@{domain}"), 403, "forbidden")

    assert upstream_calls_but_discovery(restricted) == []


def test_a_customer_and_strangers_outside_the_list_get_one_answer_at_one_cost(
    restricted: Harness,
) -> None:
    """Asked once, again at once, and again after a remembered miss has expired: the
    same 403 for each, and never a Partner Center call that could take longer for one."""
    answers: dict[str, list[dict[str, Any]]] = {domain: [] for domain in OUTSIDE_DOMAINS}
    for wait in (0.0, 0.0, AFTER_THE_MISS_TTL):
        restricted.clock.sleep(wait)
        for domain in OUTSIDE_DOMAINS:
            answers[domain].append(
                without_correlation(restricted.reset(customer=domain, user=SAMPLE_USER_ID))
            )
            answers[domain].append(
                without_correlation(reset_by_upn(restricted, f"someone@{domain}"))
            )

    bodies = [body for asked in answers.values() for body in asked]
    assert all(body == bodies[0] for body in bodies)
    assert bodies[0]["code"] == "forbidden"
    assert partner_center_calls(restricted) == []
    assert upstream_calls_but_discovery(restricted) == []


def test_what_an_unrestricted_caller_left_in_the_cache_changes_nothing(
    harness: Harness,
) -> None:
    """The lookup cache is shared by all callers: a customer another caller had confirmed
    (remembered an hour) and a tenant it had found to be no customer (remembered a
    minute) still cost a restricted caller nothing, before and after that minute."""
    unrestricted, limited = CALLER_APP_ID, str(uuid.uuid4())
    harness.configure(
        **harness.stack.settings(caller_auth=True),
        CALLER_POLICY=json.dumps({unrestricted: ["*"], limited: [SAMPLE_CUSTOMER_ID]}),
    )
    harness.timings(lookup_clock=harness.clock.now)
    as_unrestricted = bearer(harness)
    as_limited = bearer(harness, {"azp": limited, "sub": limited, "oid": limited})
    harness.reset(customer=NO_GDAP_CUSTOMER_DOMAIN, user=NO_GDAP_USER_ID, headers=as_unrestricted)
    harness.reset(customer=NON_CUSTOMER_DOMAIN, user=SAMPLE_USER_ID, headers=as_unrestricted)
    forget_requests(harness)

    bodies = []
    for wait in (0.0, AFTER_THE_MISS_TTL):
        harness.clock.sleep(wait)
        for domain in (NO_GDAP_CUSTOMER_DOMAIN, NON_CUSTOMER_DOMAIN):
            answer = harness.reset(customer=domain, user=SAMPLE_USER_ID, headers=as_limited)
            bodies.append(without_correlation(answer))

    assert all(body == bodies[0] for body in bodies)
    assert bodies[0]["code"] == "forbidden"
    assert partner_center_calls(harness) == []


# --- inside the list: as before ----------------------------------------------------------


@pytest.mark.parametrize("domain", [SAMPLE_CUSTOMER_DOMAIN, SAMPLE_CUSTOM_DOMAIN])
def test_a_domain_inside_the_list_is_confirmed_with_partner_center_and_reset(
    restricted: Harness, domain: str
) -> None:
    answer = restricted.reset(customer=domain, user=SAMPLE_USER_ID)

    assert answer.status == 200
    assert answer.json["customerTenantId"] == SAMPLE_CUSTOMER_ID
    assert ("GET", f"/v1/customers/{SAMPLE_CUSTOMER_ID}") in partner_center_calls(restricted)
    assert len(restricted.stack.partner_center.applied_resets) == 1


def test_a_upn_inside_the_list_is_reset(restricted: Harness) -> None:
    answer = reset_by_upn(restricted, SAMPLE_USER_UPN)

    assert answer.status == 200
    assert answer.json["userId"] == SAMPLE_USER_ID


def test_a_tenant_id_inside_the_list_is_reset(restricted: Harness) -> None:
    assert restricted.reset(customer=SAMPLE_CUSTOMER_ID, user=SAMPLE_USER_ID).status == 200


def test_a_listed_tenant_that_is_no_customer_gets_the_same_403(harness: Harness) -> None:
    """Listed, so Partner Center is asked; not a customer, so refused like any other."""
    harness.configure(CALLER_POLICY=json.dumps({"function-key": [NON_CUSTOMER_TENANT_ID]}))

    problem = assert_problem(
        harness.reset(customer=NON_CUSTOMER_DOMAIN, user=SAMPLE_USER_ID), 403, "forbidden"
    )

    assert problem["detail"] == "This caller may not act on the customer it named."
    assert harness.stack.partner_center.applied_resets == []


# --- unrestricted callers: as before --------------------------------------------------


@pytest.mark.parametrize("policy", [None, json.dumps({"function-key": ["*"]})])
def test_an_unrestricted_caller_still_hears_which_customer_is_unknown(
    harness: Harness, policy: str | None
) -> None:
    harness.configure(CALLER_POLICY=policy)

    assert_problem(
        harness.reset(customer=NON_CUSTOMER_DOMAIN, user=SAMPLE_USER_ID), 404, "customer_not_found"
    )
    assert_problem(
        harness.reset(customer=UNVERIFIED_DOMAIN, user=SAMPLE_USER_ID), 404, "customer_not_found"
    )
