"""Graph emulator: the partner's GDAP relationships and their access assignments."""

from __future__ import annotations

from typing import Any

import requests

from dev.emulators import EmulatorStack, Status
from dev.emulators import samples as s
from dev.emulators.gdap import (
    DIRECTORY_READERS,
    USER_ADMINISTRATOR,
    AccessAssignment,
    Relationship,
)

RELATIONSHIPS = "/v1.0/tenantRelationships/delegatedAdminRelationships"


def _get(stack: EmulatorStack, url: str, token: str | None = None, **params: str) -> Any:
    token = token or stack.graph.issue_token(stack.identity.partner_tenant_id)
    return requests.get(
        url if url.startswith("http") else stack.graph.url + url,
        params=params or None,
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )


def _of(stack: EmulatorStack, tenant_id: str) -> Any:
    return _get(stack, RELATIONSHIPS, **{"$filter": f"customer/tenantId eq '{tenant_id}'"})


def test_the_sample_customer_has_an_active_relationship_granting_user_administrator(
    emulators: EmulatorStack,
) -> None:
    answer = _of(emulators, s.SAMPLE_CUSTOMER_ID)

    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    [relationship] = answer.json()["value"]
    assert relationship["status"] == "active"
    assert relationship["customer"]["tenantId"] == s.SAMPLE_CUSTOMER_ID
    assert "@odata.nextLink" not in answer.json()
    assigned = _get(emulators, f"{RELATIONSHIPS}/{relationship['id']}/accessAssignments")
    [assignment] = assigned.json()["value"]
    assert assignment["status"] == "active"
    assert assignment["accessContainer"]["accessContainerType"] == "securityGroup"
    assert assignment["accessDetails"]["unifiedRoles"] == [{"roleDefinitionId": USER_ADMINISTRATOR}]


def test_the_customer_partner_center_refuses_has_no_relationship(
    emulators: EmulatorStack,
) -> None:
    assert _of(emulators, s.NO_GDAP_CUSTOMER_ID).json()["value"] == []


def test_a_customers_relationships_can_be_set(emulators: EmulatorStack) -> None:
    emulators.graph.set_gdap(
        s.SAMPLE_CUSTOMER_ID,
        [
            Relationship(
                s.SAMPLE_CUSTOMER_ID,
                (AccessAssignment((DIRECTORY_READERS,), status="deleted"),),
                status="expired",
            )
        ],
    )

    [relationship] = _of(emulators, s.SAMPLE_CUSTOMER_ID).json()["value"]
    assert relationship["status"] == "expired"
    assigned = _get(emulators, f"{RELATIONSHIPS}/{relationship['id']}/accessAssignments")
    assert assigned.json()["value"][0]["status"] == "deleted"


def test_pages_are_linked_by_odata_next_link(emulators: EmulatorStack) -> None:
    ua = AccessAssignment((USER_ADMINISTRATOR,))
    emulators.graph.set_gdap(
        s.SAMPLE_CUSTOMER_ID,
        [Relationship(s.SAMPLE_CUSTOMER_ID, (ua,), status="terminated") for _ in range(3)],
    )
    emulators.graph.gdap.page_size = 2

    first = _of(emulators, s.SAMPLE_CUSTOMER_ID).json()
    second = _get(emulators, first["@odata.nextLink"]).json()

    assert len(first["value"]) == 2
    assert first["@odata.nextLink"].startswith(emulators.graph.url + RELATIONSHIPS + "?")
    assert len(second["value"]) == 1
    assert "@odata.nextLink" not in second


def test_a_refused_read_is_403_authorization_request_denied(emulators: EmulatorStack) -> None:
    emulators.graph.refuse_gdap_read()

    answer = _of(emulators, s.SAMPLE_CUSTOMER_ID)

    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "Authorization_RequestDenied"


def test_only_a_token_of_the_partner_tenant_reads_relationships(
    emulators: EmulatorStack,
) -> None:
    customer_token = emulators.graph.issue_token(s.SAMPLE_CUSTOMER_ID)

    assert _get(emulators, RELATIONSHIPS, customer_token).status_code == 403
    assert _get(emulators, RELATIONSHIPS, "emu-not-issued").status_code == 401


def test_an_unknown_relationship_is_404(emulators: EmulatorStack) -> None:
    answer = _get(emulators, f"{RELATIONSHIPS}/nope/accessAssignments")
    assert answer.status_code == 404


def test_a_filter_or_skip_token_graph_would_refuse_is_400(emulators: EmulatorStack) -> None:
    assert _get(emulators, RELATIONSHIPS, **{"$filter": "status eq 'active'"}).status_code == 400
    assert _get(emulators, RELATIONSHIPS, **{"$skiptoken": "forged"}).status_code == 400


def test_faults_can_replace_the_listing(emulators: EmulatorStack) -> None:
    emulators.graph.inject(Status(500), path=RELATIONSHIPS)
    assert _of(emulators, s.SAMPLE_CUSTOMER_ID).status_code == 500


def test_reset_restores_the_default_relationships(emulators: EmulatorStack) -> None:
    emulators.graph.set_gdap(s.SAMPLE_CUSTOMER_ID, [])
    emulators.graph.refuse_gdap_read()

    emulators.reset_state()

    assert len(_of(emulators, s.SAMPLE_CUSTOMER_ID).json()["value"]) == 1


def test_a_graph_token_from_the_identity_emulator_names_the_gdap_permission(
    emulators: EmulatorStack,
) -> None:
    answer = requests.post(
        f"{emulators.identity.url}/{emulators.identity.partner_tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "refresh_token",
            "client_id": s.SAMPLE_APP_ID,
            "client_secret": s.SAMPLE_APP_SECRET,
            "refresh_token": s.SAMPLE_REFRESH_TOKEN,
            "scope": f"{emulators.graph.url}/.default",
        },
        timeout=5,
    ).json()

    assert f"{emulators.graph.url}/DelegatedAdminRelationship.Read.All" in answer["scope"].split()
    assert _get(emulators, RELATIONSHIPS, answer["access_token"]).status_code == 200
