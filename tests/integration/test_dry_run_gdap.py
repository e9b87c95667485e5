"""A dry run checks the partner's GDAP access through Microsoft Graph, in the partner
tenant: a reset that passes every other check can still be refused for it. No active
relationship with an active access assignment granting User Administrator or Privileged
Authentication Administrator is 403 `partner_forbidden`, as the reset would be; a read
Graph refuses or fails is `validated` with the warning `gdap_not_checked`, never a pass
without it and never a 403 it cannot prove. A real reset makes no such read."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from dev.emulators.faults import Disconnect, Hang, RawBody, Status
from dev.emulators.gdap import (
    DIRECTORY_READERS,
    HELPDESK_ADMINISTRATOR,
    PRIVILEGED_AUTHENTICATION_ADMINISTRATOR,
    USER_ADMINISTRATOR,
    AccessAssignment,
    Relationship,
)
from dev.emulators.graph import graph_error
from dev.emulators.samples import (
    NO_GDAP_CUSTOMER_ID,
    NO_GDAP_USER_ID,
    SAMPLE_CUSTOMER_ID,
    SAMPLE_USER_ID,
)
from shared.retry import RetryPolicy
from tests.integration.conftest import CANARY_PASSWORD, Answer, Harness
from tests.integration.helpers import assert_problem, audit_records

DRY_RUN = {"dryRun": "true"}
RELATIONSHIPS = r"^/v1\.0/tenantRelationships/delegatedAdminRelationships$"
ASSIGNMENTS = r"^/v1\.0/tenantRelationships/delegatedAdminRelationships/[^/]+/accessAssignments$"
GDAP_READS = r"^/v1\.0/tenantRelationships/"
PERMISSION = "DelegatedAdminRelationship.Read.All"
GRAPH_JSON = "application/json;odata.metadata=minimal;charset=utf-8"


def dry_run(harness: Harness, **kwargs: Any) -> Answer:
    return harness.reset(params=DRY_RUN, **kwargs)


def relationship_reads(harness: Harness) -> list[Any]:
    return harness.stack.graph.requests_to("GET", RELATIONSHIPS)


def assignment_reads(harness: Harness) -> list[Any]:
    return harness.stack.graph.requests_to("GET", ASSIGNMENTS)


def gdap(harness: Harness, *relationships: Relationship) -> None:
    harness.stack.graph.set_gdap(SAMPLE_CUSTOMER_ID, list(relationships))


def relationship(*assignments: AccessAssignment, status: str = "active") -> Relationship:
    return Relationship(SAMPLE_CUSTOMER_ID, assignments, status=status)


def granting(*roles: str, status: str = "active") -> AccessAssignment:
    return AccessAssignment(roles, status=status)


def assert_validated(answer: Answer) -> dict[str, Any]:
    assert answer.status == 200, answer.raw
    body = answer.json
    assert body["status"] == "validated"
    return body


def assert_not_checked(answer: Answer) -> str:
    """200 validated, with exactly one gdap_not_checked warning; its detail."""
    body = assert_validated(answer)
    [warning] = body["warnings"]
    assert set(warning) == {"code", "detail"}
    assert warning["code"] == "gdap_not_checked"
    assert "partner_forbidden" in warning["detail"]
    return str(warning["detail"])


def assert_forbidden(harness: Harness, answer: Answer) -> None:
    problem = assert_problem(answer, 403, "partner_forbidden")
    assert "User Administrator" in problem["detail"]
    assert "Privileged Authentication Administrator" in problem["detail"]
    assert harness.stack.partner_center.applied_resets == []


# --- the access a reset needs -------------------------------------------------------


def test_an_active_user_administrator_assignment_validates_without_a_warning(
    harness: Harness,
) -> None:
    body = assert_validated(dry_run(harness))

    assert "warnings" not in body
    assert harness.stack.partner_center.applied_resets == []


def test_the_read_is_the_customers_relationships_then_their_assignments_in_the_partner_tenant(
    harness: Harness,
) -> None:
    dry_run(harness)

    [listing] = relationship_reads(harness)
    assert listing.query["$filter"] == f"customer/tenantId eq '{SAMPLE_CUSTOMER_ID}'"
    assert len(assignment_reads(harness)) == 1
    token = listing.bearer_token()
    assert token is not None
    assert harness.stack.ledger.tenant_of(token) == harness.stack.identity.partner_tenant_id
    assert harness.stack.identity.graph_exchanges == [harness.stack.identity.partner_tenant_id]


def test_privileged_authentication_administrator_alone_validates(harness: Harness) -> None:
    gdap(harness, relationship(granting(PRIVILEGED_AUTHENTICATION_ADMINISTRATOR)))

    assert "warnings" not in assert_validated(dry_run(harness))


def test_role_ids_are_compared_as_guids_in_any_letter_case(harness: Harness) -> None:
    gdap(harness, relationship(granting(DIRECTORY_READERS, USER_ADMINISTRATOR.upper())))

    assert "warnings" not in assert_validated(dry_run(harness))


def test_one_granting_assignment_among_others_is_enough(harness: Harness) -> None:
    gdap(
        harness,
        relationship(granting(DIRECTORY_READERS), status="expired"),
        relationship(granting(HELPDESK_ADMINISTRATOR), granting(USER_ADMINISTRATOR)),
    )

    assert "warnings" not in assert_validated(dry_run(harness))


# --- no such access: 403, as the reset would be ---------------------------------------


def test_no_relationship_is_403_partner_forbidden_and_nothing_is_patched(
    harness: Harness,
) -> None:
    gdap(harness)

    assert_forbidden(harness, dry_run(harness))
    assert harness.stack.partner_center.requests_to("PATCH", r".") == []


def test_the_customer_partner_center_refuses_is_refused_by_the_dry_run_too(
    harness: Harness,
) -> None:
    assert_forbidden(harness, dry_run(harness, customer=NO_GDAP_CUSTOMER_ID, user=NO_GDAP_USER_ID))


@pytest.mark.parametrize(
    "status", ["expired", "terminated", "approvalPending", "activating", "Active", ""]
)
def test_a_relationship_that_is_not_active_does_not_count(harness: Harness, status: str) -> None:
    gdap(harness, relationship(granting(USER_ADMINISTRATOR), status=status))

    assert_forbidden(harness, dry_run(harness))
    assert assignment_reads(harness) == []


@pytest.mark.parametrize("status", ["pending", "deleting", "deleted", "error", "ACTIVE"])
def test_an_assignment_that_is_not_active_does_not_count(harness: Harness, status: str) -> None:
    gdap(harness, relationship(granting(USER_ADMINISTRATOR, status=status)))

    assert_forbidden(harness, dry_run(harness))


def test_an_assignment_of_other_roles_only_does_not_count(harness: Harness) -> None:
    gdap(harness, relationship(granting(DIRECTORY_READERS, HELPDESK_ADMINISTRATOR)))

    assert_forbidden(harness, dry_run(harness))


def test_a_relationship_with_another_customer_does_not_count(harness: Harness) -> None:
    # An answer that ignored the filter: another customer's grant says nothing of this one.
    other = Relationship(str(uuid.uuid4()), (granting(USER_ADMINISTRATOR),))
    harness.stack.graph.inject(
        Status(200, {"value": [other.to_json()]}), method="GET", path=RELATIONSHIPS
    )

    assert_forbidden(harness, dry_run(harness))
    assert assignment_reads(harness) == []


def test_the_audit_records_the_refused_dry_run(harness: Harness) -> None:
    gdap(harness)
    dry_run(harness)

    [record] = audit_records(harness)
    assert record["dryRun"] is True
    assert record["httpStatus"] == 403


# --- every page is read ------------------------------------------------------------------


def test_relationship_pages_are_followed_to_the_granting_one(harness: Harness) -> None:
    gdap(
        harness,
        relationship(granting(USER_ADMINISTRATOR), status="terminated"),
        relationship(granting(USER_ADMINISTRATOR), status="expired"),
        relationship(granting(USER_ADMINISTRATOR)),
    )
    harness.stack.graph.gdap.page_size = 1

    assert "warnings" not in assert_validated(dry_run(harness))
    assert len(relationship_reads(harness)) == 3


def test_assignment_pages_are_followed_to_the_granting_one(harness: Harness) -> None:
    gdap(
        harness,
        relationship(
            granting(DIRECTORY_READERS),
            granting(USER_ADMINISTRATOR, status="deleted"),
            granting(PRIVILEGED_AUTHENTICATION_ADMINISTRATOR),
        ),
    )
    harness.stack.graph.gdap.page_size = 1

    assert "warnings" not in assert_validated(dry_run(harness))
    assert len(assignment_reads(harness)) == 3


def test_every_page_is_read_before_a_403(harness: Harness) -> None:
    gdap(harness, *(relationship(granting(DIRECTORY_READERS)) for _ in range(3)))
    harness.stack.graph.gdap.page_size = 2

    assert_forbidden(harness, dry_run(harness))
    assert len(relationship_reads(harness)) == 2
    assert len(assignment_reads(harness)) == 3


# --- Graph refuses or fails: validated, with gdap_not_checked --------------------------


def test_graph_refusing_the_read_warns_naming_the_permission(harness: Harness) -> None:
    harness.stack.graph.refuse_gdap_read()

    detail = assert_not_checked(dry_run(harness))

    assert PERMISSION in detail
    assert "HTTP 403" in detail
    assert harness.stack.partner_center.applied_resets == []


def test_a_401_gets_a_fresh_graph_token_and_one_retry(harness: Harness) -> None:
    harness.stack.graph.inject(
        Status(401, graph_error("InvalidAuthenticationToken", "expired")), path=RELATIONSHIPS
    )

    assert "warnings" not in assert_validated(dry_run(harness))
    first, second = relationship_reads(harness)
    assert first.header("authorization") != second.header("authorization")


def test_a_persistent_401_warns_naming_the_permission(harness: Harness) -> None:
    harness.stack.graph.inject(Status(401), times=None, path=RELATIONSHIPS)

    assert PERMISSION in assert_not_checked(dry_run(harness))


def test_a_refused_assignment_read_warns_too(harness: Harness) -> None:
    harness.stack.graph.inject(Status(403), path=ASSIGNMENTS)

    assert PERMISSION in assert_not_checked(dry_run(harness))


def test_a_refused_graph_token_warns_with_its_aadsts_code_and_the_permission(
    harness: Harness,
) -> None:
    partner = harness.stack.identity.partner_tenant_id
    harness.stack.identity.refuse_graph_exchange(partner, aadsts=65001)

    detail = assert_not_checked(dry_run(harness))

    assert "AADSTS65001" in detail
    assert PERMISSION in detail
    assert harness.stack.graph.requests == []


def test_graph_5xx_then_an_answer_is_retried_to_a_pass(harness: Harness) -> None:
    harness.stack.graph.inject(Status(503), times=2, path=RELATIONSHIPS)

    assert "warnings" not in assert_validated(dry_run(harness))
    assert len(relationship_reads(harness)) == 3


def test_graph_throttling_waits_retry_after(harness: Harness) -> None:
    harness.stack.graph.inject(Status(429, None, {"Retry-After": "4"}), path=RELATIONSHIPS)

    assert "warnings" not in assert_validated(dry_run(harness))
    assert harness.clock.slept >= 4


def test_persistent_graph_5xx_warns_naming_the_failure(harness: Harness) -> None:
    harness.stack.graph.inject(Status(500), times=None, path=RELATIONSHIPS)

    detail = assert_not_checked(dry_run(harness))

    assert "HTTP 500" in detail
    assert PERMISSION not in detail
    assert len(relationship_reads(harness)) == RetryPolicy().max_attempts


def test_unreachable_graph_warns(harness: Harness) -> None:
    harness.stack.graph.inject(Disconnect(), times=None, path=GDAP_READS)

    assert "could not be reached" in assert_not_checked(dry_run(harness))


def test_a_4xx_other_than_401_and_403_warns_naming_the_status(harness: Harness) -> None:
    harness.stack.graph.inject(Status(400, graph_error("BadRequest", "x")), path=RELATIONSHIPS)

    assert "HTTP 400" in assert_not_checked(dry_run(harness))
    assert len(relationship_reads(harness)) == 1


def _page(*items: Any, **extra: Any) -> bytes:
    return json.dumps({"value": list(items), **extra}).encode()


def _ua_relationship_json(**changes: Any) -> dict[str, Any]:
    body = relationship(granting(USER_ADMINISTRATOR)).to_json()
    body.update(changes)
    return body


UNREADABLE_RELATIONSHIPS = {
    "not json": RawBody(200, b"not json"),
    "html from a proxy": RawBody(200, b"<html>UPSTREAM-SAYS</html>", "text/html"),
    "json as text": RawBody(200, _page(), "text/plain"),
    "empty": RawBody(200, b"", "application/json"),
    "a list": RawBody(200, b"[]", GRAPH_JSON),
    "no value": RawBody(200, b"{}", GRAPH_JSON),
    "value not a list": RawBody(200, b'{"value": {}}', GRAPH_JSON),
    "an item not an object": RawBody(200, _page("x"), GRAPH_JSON),
    "status a number": RawBody(200, _page(_ua_relationship_json(status=1)), GRAPH_JSON),
    "no customer": RawBody(200, _page(_ua_relationship_json(customer=None)), GRAPH_JSON),
    "id unfit for a path": RawBody(200, _page(_ua_relationship_json(id="../x")), GRAPH_JSON),
    "next link not a string": RawBody(200, _page(**{"@odata.nextLink": 5}), GRAPH_JSON),
}


@pytest.mark.parametrize("answer", UNREADABLE_RELATIONSHIPS.values(), ids=UNREADABLE_RELATIONSHIPS)
def test_an_unreadable_relationship_page_warns_and_is_neither_a_pass_nor_a_403(
    harness: Harness, answer: RawBody
) -> None:
    harness.stack.graph.inject(answer, path=RELATIONSHIPS)

    detail = assert_not_checked(dry_run(harness))

    assert "UPSTREAM-SAYS" not in detail


UNREADABLE_ASSIGNMENTS = {
    "not json": RawBody(200, b"{", GRAPH_JSON),
    "value not a list": RawBody(200, b'{"value": 1}', GRAPH_JSON),
    "status missing": RawBody(
        200, _page({"id": "a", "accessDetails": {"unifiedRoles": []}}), GRAPH_JSON
    ),
    "active without access details": RawBody(
        200, _page({"id": "a", "status": "active"}), GRAPH_JSON
    ),
    "roles not a list": RawBody(
        200,
        _page({"id": "a", "status": "active", "accessDetails": {"unifiedRoles": "x"}}),
        GRAPH_JSON,
    ),
    "role id not a string": RawBody(
        200,
        _page({"id": "a", "status": "active", "accessDetails": {"unifiedRoles": [{"x": 1}]}}),
        GRAPH_JSON,
    ),
}


@pytest.mark.parametrize("answer", UNREADABLE_ASSIGNMENTS.values(), ids=UNREADABLE_ASSIGNMENTS)
def test_an_unreadable_assignment_page_warns(harness: Harness, answer: RawBody) -> None:
    harness.stack.graph.inject(answer, path=ASSIGNMENTS)

    assert_not_checked(dry_run(harness))


def test_an_unreadable_later_page_warns_rather_than_refuse(harness: Harness) -> None:
    # Page one lists a relationship granting nothing; page two, which might grant, is garbage.
    readers = relationship(granting(DIRECTORY_READERS))
    gdap(harness, readers)
    next_link = f"{harness.stack.graph.url}/v1.0/tenantRelationships/delegatedAdminRelationships"
    first: dict[str, object] = {
        "value": [readers.to_json()],
        "@odata.nextLink": next_link + "?$skiptoken=2",
    }
    harness.stack.graph.inject(Status(200, first), path=RELATIONSHIPS)
    harness.stack.graph.inject(RawBody(200, b"garbage", GRAPH_JSON), path=RELATIONSHIPS)

    assert_not_checked(dry_run(harness))
    assert len(relationship_reads(harness)) == 2


def test_a_next_link_off_graph_is_never_followed(harness: Harness) -> None:
    elsewhere = f"{harness.stack.partner_center.url}/v1.0/tenantRelationships/steal?$skiptoken=x"
    page: dict[str, object] = {"value": [], "@odata.nextLink": elsewhere}
    harness.stack.graph.inject(Status(200, page), path=RELATIONSHIPS)

    assert "Microsoft Graph" in assert_not_checked(dry_run(harness))
    assert harness.stack.partner_center.requests_to("GET", r"/tenantRelationships/") == []


def test_a_next_link_that_never_ends_warns(harness: Harness) -> None:
    loop = f"{harness.stack.graph.url}/v1.0/tenantRelationships/delegatedAdminRelationships"
    page: dict[str, object] = {"value": [], "@odata.nextLink": loop}
    harness.stack.graph.inject(Status(200, page), times=None, path=RELATIONSHIPS)

    assert_not_checked(dry_run(harness))


def test_a_deadline_running_out_during_the_read_warns_in_time(harness: Harness) -> None:
    dry_run(harness)  # warm: secrets, tokens and names; the deadline below is Graph's
    harness.configure_route(RESET_DEADLINE_SECONDS="0.6")
    harness.stack.graph.inject(Hang(30), times=None, path=GDAP_READS)

    started = time.monotonic()
    answer = dry_run(harness)

    assert time.monotonic() - started < 1.1
    assert "deadline" in assert_not_checked(answer)


def test_no_upstream_text_reaches_the_warning(harness: Harness) -> None:
    harness.stack.graph.inject(
        Status(403, graph_error("Authorization_RequestDenied", "UPSTREAM-SAYS-no")),
        path=RELATIONSHIPS,
    )

    detail = assert_not_checked(dry_run(harness))
    assert "UPSTREAM-SAYS" not in detail
    assert "Authorization_RequestDenied" not in detail


def test_the_audit_and_the_log_carry_the_warning(harness: Harness) -> None:
    harness.stack.graph.refuse_gdap_read()
    correlation = str(uuid.uuid4())
    dry_run(harness, headers={"x-correlation-id": correlation})

    [record] = audit_records(harness)
    assert record["warnings"] == ["gdap_not_checked"]
    assert record["outcome"] == "validated"
    logged = [
        r for r in harness.caplog.records if r.levelname == "WARNING" and "GDAP" in r.getMessage()
    ]
    assert logged
    assert all(correlation in r.getMessage() for r in logged)


# --- with revokeSessions, and real resets -------------------------------------------------


def test_a_dry_run_asking_to_revoke_checks_gdap_and_says_sessions_were_not_checked(
    harness: Harness,
) -> None:
    harness.stack.graph.refuse_gdap_read()

    body = assert_validated(
        harness.reset({"password": CANARY_PASSWORD, "revokeSessions": True}, params=DRY_RUN)
    )

    assert [w["code"] for w in body["warnings"]] == ["gdap_not_checked", "sessions_not_checked"]
    assert harness.stack.graph.requests_to("POST", r"revokeSignInSessions") == []


def test_a_real_reset_makes_no_gdap_read(harness: Harness) -> None:
    answer = harness.reset({"password": CANARY_PASSWORD, "revokeSessions": True})

    assert answer.json["status"] == "succeeded"
    assert harness.stack.graph.requests_to("GET", GDAP_READS) == []
    assert harness.stack.identity.graph_exchanges == [SAMPLE_CUSTOMER_ID]


def test_a_real_reset_goes_ahead_whatever_graph_would_say(harness: Harness) -> None:
    harness.stack.graph.refuse_gdap_read()
    gdap(harness)

    assert harness.reset(user=SAMPLE_USER_ID).json["status"] == "succeeded"


# --- never leak ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "graph_does", ["grants", "no_relationship", "refuses", "fails", "garbage", "token_refused"]
)
def test_no_password_or_token_leaks_whatever_the_gdap_read_does(
    harness: Harness, graph_does: str
) -> None:
    stack = harness.stack
    if graph_does == "no_relationship":
        gdap(harness)
    elif graph_does == "refuses":
        stack.graph.refuse_gdap_read()
    elif graph_does == "fails":
        stack.graph.inject(Status(503), times=None, path=GDAP_READS)
    elif graph_does == "garbage":
        stack.graph.inject(RawBody(200, CANARY_PASSWORD.encode()), path=RELATIONSHIPS)
    elif graph_does == "token_refused":
        stack.identity.refuse_graph_exchange(stack.identity.partner_tenant_id, aadsts=50076)

    answer = harness.reset({"password": CANARY_PASSWORD, "revokeSessions": True}, params=DRY_RUN)

    assert answer.status in (200, 403)
    harness.assert_nothing_leaked()
    for request in stack.graph.requests:
        assert CANARY_PASSWORD not in request.path + json.dumps(request.query)
        assert CANARY_PASSWORD.encode() not in request.body
