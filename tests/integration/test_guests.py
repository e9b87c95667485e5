"""Guests are refused: a B2B guest signs in at its home organisation, so a password set
in the customer's tenant changes nothing it uses, and `succeeded` would mislead the
helpdesk. 409 `user_is_guest`, nothing sent.

Named by a UPN holding `#EXT#` (any case) it needs no read, guard on or off; named by
object ID it is seen in the guard's read (`#EXT#` in its UPN, or `userType` Guest), and
a UPN's confirmation read (guard off) refuses a `userType` Guest as well. For a caller
limited by CALLER_POLICY the list comes first: a customer outside it is the same 403
whoever is named in it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dev.emulators.samples import (
    NO_GDAP_CUSTOMER_DOMAIN,
    NO_GDAP_CUSTOMER_ID,
    SAMPLE_CUSTOMER_DOMAIN,
    SAMPLE_CUSTOMER_ID,
    SAMPLE_GUEST_USER_ID,
    SAMPLE_GUEST_USER_UPN,
)
from tests.integration.conftest import Answer, Harness
from tests.integration.helpers import assert_problem, audit_records, patched_paths, reset_by_upn

GUEST_CASES = [
    SAMPLE_GUEST_USER_UPN,
    SAMPLE_GUEST_USER_UPN.replace("#EXT#", "#ext#"),
    SAMPLE_GUEST_USER_UPN.replace("#EXT#", "#Ext#"),
]
GUARD = ["true", "false"]


def as_sent(upn: str) -> str:
    """How a caller puts a UPN in a URL: '#' would start a fragment."""
    return upn.replace("#", "%23").replace("@", "%40")


def reset_guest(harness: Harness, route: str, upn: str, **kwargs: Any) -> Answer:
    if route == "upn":
        return reset_by_upn(harness, as_sent(upn), **kwargs)
    customer = SAMPLE_CUSTOMER_DOMAIN if route == "domain" else SAMPLE_CUSTOMER_ID
    return harness.reset(customer=customer, user=upn, **kwargs)


def add_user(harness: Harness, upn: str, *, user_type: str | None = None) -> str:
    return harness.stack.partner_center.add_user(
        SAMPLE_CUSTOMER_ID,
        user_principal_name=upn,
        first_name="Test",
        last_name="User",
        user_type=user_type,
    ).id


def assert_guest_refused(answer: Answer) -> dict[str, Any]:
    problem = assert_problem(answer, 409, "user_is_guest")
    assert "home organisation" in problem["detail"]
    return problem


# --- named by UPN: no read ------------------------------------------------------------


@pytest.mark.parametrize("guard", GUARD)
@pytest.mark.parametrize("upn", GUEST_CASES)
@pytest.mark.parametrize("route", ["domain", "tenant-id", "upn"])
def test_a_guest_upn_is_409_with_no_partner_center_call(
    harness: Harness, route: str, upn: str, guard: str
) -> None:
    harness.configure(PROTECTED_ROLE_GUARD=guard)

    assert_guest_refused(reset_guest(harness, route, upn))

    assert harness.stack.partner_center.requests == []


@pytest.mark.parametrize("route", ["domain", "tenant-id", "upn"])
def test_a_dry_run_of_a_guest_upn_is_409_too(harness: Harness, route: str) -> None:
    answer = reset_guest(harness, route, SAMPLE_GUEST_USER_UPN, params={"dryRun": "true"})

    assert_guest_refused(answer)
    assert harness.stack.partner_center.requests == []


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    local=st.from_regex(r"\A[a-z0-9._-]{0,12}\Z").filter(
        lambda s: not s.startswith(".") and ".." not in s
    ),
    marker=st.sampled_from(["#EXT#", "#ext#", "#Ext#", "#eXt#", "#exT#", "#EXt#"]),
)
def test_any_upn_holding_ext_in_any_case_is_refused_unread(
    harness: Harness, local: str, marker: str
) -> None:
    harness.stack.partner_center.clear_requests()

    answer = reset_by_upn(harness, as_sent(f"{local}{marker}@{SAMPLE_CUSTOMER_DOMAIN}"))

    assert_guest_refused(answer)
    assert harness.stack.partner_center.requests == []


# --- named by object ID: seen in the guard's read ------------------------------------------


def test_the_sample_guest_by_object_id_is_409_with_no_patch(harness: Harness) -> None:
    assert_guest_refused(harness.reset(user=SAMPLE_GUEST_USER_ID))

    assert patched_paths(harness) == []
    assert harness.stack.partner_center.applied_resets == []


def test_a_dry_run_of_a_guest_by_object_id_is_409_too(harness: Harness) -> None:
    answer = harness.reset(user=SAMPLE_GUEST_USER_ID, params={"dryRun": "true"})

    assert_guest_refused(answer)
    assert patched_paths(harness) == []


@pytest.mark.parametrize("user_type", ["Guest", "guest", "GUEST", " Guest "])
def test_a_user_the_read_calls_a_guest_is_409(harness: Harness, user_type: str) -> None:
    user_id = add_user(harness, "visitor@contoso.onmicrosoft.com", user_type=user_type)

    assert_guest_refused(harness.reset(user=user_id))

    assert patched_paths(harness) == []


def test_a_user_whose_read_upn_holds_ext_is_409(harness: Harness) -> None:
    # No userType in the answer: the UPN alone says it.
    user_id = add_user(harness, "lin_example.org#EXT#@contoso.onmicrosoft.com")

    assert_guest_refused(harness.reset(user=user_id))

    assert patched_paths(harness) == []


@pytest.mark.parametrize("user_type", ["Visitor", "", "Guest,Member"])
def test_a_user_type_that_is_no_member_is_refused_as_a_guest(
    harness: Harness, user_type: str
) -> None:
    """Entra knows Member and Guest; anything else is not shown to be a member."""
    user_id = add_user(harness, "odd@contoso.onmicrosoft.com", user_type=user_type)

    assert_guest_refused(harness.reset(user=user_id))

    assert patched_paths(harness) == []


@pytest.mark.parametrize("user_type", ["Member", "member", None])
def test_a_member_is_reset(harness: Harness, user_type: str | None) -> None:
    user_id = add_user(harness, "member@contoso.onmicrosoft.com", user_type=user_type)

    assert harness.reset(user=user_id).status == 200


def test_a_upn_confirmed_with_the_guard_off_is_409_when_the_read_says_guest(
    harness: Harness,
) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false")
    add_user(harness, "visitor@contoso.onmicrosoft.com", user_type="Guest")

    assert_guest_refused(reset_by_upn(harness, "visitor%40contoso.onmicrosoft.com"))

    assert patched_paths(harness) == []


# --- a restricted caller: the list first --------------------------------------------------


@pytest.fixture
def contoso_only(harness: Harness) -> Harness:
    harness.configure(CALLER_POLICY=json.dumps({"function-key": [SAMPLE_CUSTOMER_ID]}))
    return harness


@pytest.mark.parametrize(
    ("customer", "upn"),
    [
        (NO_GDAP_CUSTOMER_ID, f"x_example.org#EXT#@{NO_GDAP_CUSTOMER_DOMAIN}"),
        (NO_GDAP_CUSTOMER_DOMAIN, f"x_example.org#EXT#@{NO_GDAP_CUSTOMER_DOMAIN}"),
        (None, f"x_example.org#EXT#@{NO_GDAP_CUSTOMER_DOMAIN}"),
        (None, "x_example.org#EXT#@nobody-verified-this.example"),
    ],
)
def test_a_guest_in_a_customer_outside_the_list_is_the_same_403(
    contoso_only: Harness, customer: str | None, upn: str
) -> None:
    if customer is None:
        answer = reset_by_upn(contoso_only, as_sent(upn))
    else:
        answer = contoso_only.reset(customer=customer, user=upn)

    problem = assert_problem(answer, 403, "forbidden")
    assert problem["detail"] == "This caller may not act on the customer it named."
    assert contoso_only.stack.partner_center.requests == []


@pytest.mark.parametrize("route", ["domain", "tenant-id", "upn"])
def test_a_guest_in_a_customer_on_the_list_is_409(contoso_only: Harness, route: str) -> None:
    assert_guest_refused(reset_guest(contoso_only, route, SAMPLE_GUEST_USER_UPN))

    assert contoso_only.stack.partner_center.requests == []


# --- audit ----------------------------------------------------------------------------


def test_a_refused_guest_is_audited_with_its_outcome(harness: Harness) -> None:
    reset_by_upn(harness, as_sent(SAMPLE_GUEST_USER_UPN), {"password": "Canary#Pw-7f3a9c"})

    [record] = audit_records(harness)
    assert (record["outcome"], record["httpStatus"]) == ("user_is_guest", 409)
    assert record["userRequested"] == SAMPLE_GUEST_USER_UPN
    assert record["customerTenantId"] == SAMPLE_CUSTOMER_ID
