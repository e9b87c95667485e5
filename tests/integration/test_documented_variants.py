"""Upstream answers in the other shapes Microsoft's documentation allows.

Our emulators answer one way; a service (or an emulator written from the contract and
Microsoft's public documentation alone) may answer another documented way. Each case
injects that other answer and checks the function still answers as the contract says,
failing closed where the answer leaves a doubt.
"""

from __future__ import annotations

import uuid
from typing import Any

from dev.emulators.faults import Status
from dev.emulators.pc_models import GLOBAL_ADMINISTRATOR_ROLE_ID
from dev.emulators.samples import SAMPLE_USER_ID, SAMPLE_USER_UPN
from tests.integration.conftest import Harness
from tests.integration.test_caller_errors import assert_problem

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


def patches(harness: Harness) -> int:
    return len(harness.stack.partner_center.requests_to("PATCH", RESET))


# --- directory roles: paging and item shapes ---------------------------------------------


def test_a_role_is_recognised_by_a_role_template_id_field(harness: Harness) -> None:
    item = {
        "id": str(uuid.uuid4()),
        "displayName": "Renamed",
        "roleTemplateId": GLOBAL_ADMINISTRATOR_ROLE_ID,
    }
    harness.stack.partner_center.inject(Status(200, roles_page([item])), path=ROLES)

    assert_problem(harness.reset(), 403, "protected_user")
    assert patches(harness) == 0


def test_a_role_is_recognised_by_a_display_name_field(harness: Harness) -> None:
    item = {"id": str(uuid.uuid4()), "displayName": "Global Administrator"}
    harness.stack.partner_center.inject(Status(200, roles_page([item])), path=ROLES)

    assert_problem(harness.reset(), 403, "protected_user")
    assert patches(harness) == 0


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
    assert patches(harness) == 0


def test_a_user_with_an_on_premises_immutable_id_is_409(harness: Harness) -> None:
    harness.stack.partner_center.inject(
        Status(200, cloud_user(onPremisesImmutableId="aGVsbG8=")), method="GET", path=USER
    )

    assert_problem(harness.reset(), 409, "user_not_cloud_managed")
    assert patches(harness) == 0


# --- JSON with a byte order mark -------------------------------------------------------------


# --- discovery: the issuer's other forms -----------------------------------------------------


# --- Microsoft Graph: the action's answer ----------------------------------------------------
