"""Upstream answers in the other shapes Microsoft's documentation allows.

Our emulators answer one way; a service (or an emulator written from the contract and
Microsoft's public documentation alone) may answer another documented way. Each case
injects that other answer and checks the function still answers as the contract says,
failing closed where the answer leaves a doubt.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from dev.emulators.faults import RawBody, Status
from dev.emulators.pc_models import GLOBAL_ADMINISTRATOR_ROLE_ID
from dev.emulators.samples import SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID, SAMPLE_USER_UPN
from tests.integration.conftest import Harness
from tests.integration.helpers import assert_problem, reset_by_upn, reset_patches

ROLES = r"/directoryroles$"
USER = rf"^/v1/customers/[^/]+/users/{SAMPLE_USER_ID}$"
RESET = r"/resetpassword$"
DISCOVERY = r"/openid-configuration$"
BOM = b"\xef\xbb\xbf"
UTF8_JSON = "application/json; charset=utf-8"


def roles_page(items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "totalCount": len(items),
        "items": items,
        "attributes": {"objectType": "Collection"},
        **extra,
    }


def role(name: str, role_id: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "id": role_id or str(uuid.uuid4()),
        "attributes": {"objectType": "DirectoryRole"},
        **extra,
    }


def with_bom(body: dict[str, Any]) -> RawBody:
    return RawBody(200, BOM + json.dumps(body).encode(), UTF8_JSON)


# --- directory roles: paging and item shapes ---------------------------------------------


def test_a_next_page_named_by_a_top_level_continuation_token_is_read(harness: Harness) -> None:
    pc = harness.stack.partner_center
    first = roles_page([role("Reports Reader")], continuationToken="page-2")
    pc.inject(Status(200, first), path=ROLES)
    last = roles_page([role("Global Administrator", GLOBAL_ADMINISTRATOR_ROLE_ID)])
    pc.inject(Status(200, last), path=ROLES)

    assert_problem(harness.reset(), 403, "protected_user")
    second = pc.requests_to("GET", ROLES)[1]
    assert second.header("MS-ContinuationToken") == "page-2"
    assert reset_patches(harness) == 0


def test_a_next_link_without_a_readable_token_is_refused_not_taken_as_the_last_page(
    harness: Harness,
) -> None:
    links = {"next": {"uri": "/customers/x/users/y/directoryroles?seekOperation=Next"}}
    harness.stack.partner_center.inject(
        Status(200, roles_page([role("Reports Reader")], links=links)), path=ROLES
    )

    assert_problem(harness.reset(), 502, "upstream_error")
    assert reset_patches(harness) == 0


def test_a_role_is_recognised_by_a_role_template_id_field(harness: Harness) -> None:
    item = {
        "id": str(uuid.uuid4()),
        "displayName": "Renamed",
        "roleTemplateId": GLOBAL_ADMINISTRATOR_ROLE_ID,
    }
    harness.stack.partner_center.inject(Status(200, roles_page([item])), path=ROLES)

    assert_problem(harness.reset(), 403, "protected_user")
    assert reset_patches(harness) == 0


def test_a_role_is_recognised_by_a_display_name_field(harness: Harness) -> None:
    item = {"id": str(uuid.uuid4()), "displayName": "Global Administrator"}
    harness.stack.partner_center.inject(Status(200, roles_page([item])), path=ROLES)

    assert_problem(harness.reset(), 403, "protected_user")
    assert reset_patches(harness) == 0


# --- the user: what says it is not managed in the cloud ------------------------------------


def cloud_user(**fields: Any) -> dict[str, Any]:
    return {
        "id": SAMPLE_USER_ID,
        "userPrincipalName": SAMPLE_USER_UPN,
        "displayName": "Ada Lovelace",
        "userDomainType": "managed",
        "state": "active",
        "attributes": {"objectType": "CustomerUser"},
        **fields,
    }


def test_a_user_marked_as_synced_from_on_premises_is_409(harness: Harness) -> None:
    harness.stack.partner_center.inject(
        Status(200, cloud_user(onPremisesSyncEnabled=True)), method="GET", path=USER
    )

    assert_problem(harness.reset(), 409, "user_not_cloud_managed")
    assert reset_patches(harness) == 0


def test_a_user_with_an_on_premises_immutable_id_is_409(harness: Harness) -> None:
    harness.stack.partner_center.inject(
        Status(200, cloud_user(onPremisesImmutableId="aGVsbG8=")), method="GET", path=USER
    )

    assert_problem(harness.reset(), 409, "user_not_cloud_managed")
    assert reset_patches(harness) == 0


# --- JSON with a byte order mark -------------------------------------------------------------


def test_a_user_read_with_a_byte_order_mark_is_understood(harness: Harness) -> None:
    harness.stack.partner_center.inject(with_bom(cloud_user()), method="GET", path=USER)

    answer = harness.reset()

    assert answer.status == 200
    assert answer.json["displayName"] == "Ada Lovelace"


def test_a_reset_answer_with_a_byte_order_mark_is_a_success(harness: Harness) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false")
    harness.stack.partner_center.inject(
        with_bom(cloud_user(displayName="Ada B. Lovelace")), method="PATCH", path=RESET
    )

    answer = harness.reset()

    assert answer.status == 200
    assert answer.json["displayName"] == "Ada B. Lovelace"


def test_a_token_answer_with_a_byte_order_mark_is_understood(harness: Harness) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false")
    token = harness.stack.ledger.issue("https://api.partnercenter.microsoft.com", 3600)
    harness.stack.identity.inject(
        with_bom({"token_type": "Bearer", "expires_in": 3599, "access_token": token}),
        method="POST",
        path=r"/oauth2/(v2\.0/)?token$",
    )

    assert harness.reset().status == 200


def test_a_discovery_document_with_a_byte_order_mark_is_understood(harness: Harness) -> None:
    issuer = f"{harness.stack.identity.url}/{SAMPLE_CUSTOMER_ID}/v2.0"
    harness.stack.identity.inject(with_bom({"issuer": issuer}), path=DISCOVERY)

    assert reset_by_upn(harness).status == 200


# --- discovery: the issuer's other forms -----------------------------------------------------


def test_a_v1_issuer_in_the_discovery_document_names_the_tenant(harness: Harness) -> None:
    issuer = f"https://sts.windows.net/{SAMPLE_CUSTOMER_ID}/"
    harness.stack.identity.inject(Status(200, {"issuer": issuer}), path=DISCOVERY)

    answer = reset_by_upn(harness)

    assert answer.status == 200
    assert answer.json["customerTenantId"] == SAMPLE_CUSTOMER_ID


def test_an_issuer_without_a_version_names_the_tenant_in_any_case(harness: Harness) -> None:
    issuer = f"{harness.stack.identity.url}/{SAMPLE_CUSTOMER_ID.upper()}"
    harness.stack.identity.inject(Status(200, {"issuer": issuer}), path=DISCOVERY)

    answer = reset_by_upn(harness)

    assert answer.status == 200
    assert answer.json["customerTenantId"] == SAMPLE_CUSTOMER_ID


def test_an_issuer_with_the_tenant_deeper_in_its_path_is_refused(harness: Harness) -> None:
    issuer = f"https://elsewhere.example/x/{SAMPLE_CUSTOMER_ID}/v2.0"
    harness.stack.identity.inject(Status(200, {"issuer": issuer}), path=DISCOVERY)

    assert_problem(reset_by_upn(harness), 503, "dependency_unavailable")
    assert reset_patches(harness) == 0


# --- Microsoft Graph: the action's answer ----------------------------------------------------


def test_a_revocation_answered_false_is_reported_as_not_revoked(harness: Harness) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false")
    harness.stack.graph.inject(
        Status(200, {"@odata.context": "$metadata#Edm.Boolean", "value": False}),
        path=r"/revokeSignInSessions$",
    )

    answer = harness.reset({"password": "Canary#Pw-7f3a9c", "revokeSessions": True})

    assert answer.status == 200
    assert answer.json["sessionsRevoked"] is False
    assert [w["code"] for w in answer.json["warnings"]] == ["sessions_not_revoked"]


def test_a_revocation_answered_204_is_not_confirmed(harness: Harness) -> None:
    # The action documents {"value": true}; an empty answer (a proxy's, say) confirms nothing.
    harness.configure(PROTECTED_ROLE_GUARD="false")
    harness.stack.graph.inject(Status(204, b""), path=r"/revokeSignInSessions$")

    answer = harness.reset({"password": "Canary#Pw-7f3a9c", "revokeSessions": True})

    assert answer.status == 200
    assert answer.json["sessionsRevoked"] is False
    assert [w["code"] for w in answer.json["warnings"]] == ["sessions_not_revoked"]
