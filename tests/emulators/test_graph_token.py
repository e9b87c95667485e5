"""Identity emulator: the partner's refresh token redeemed in a customer tenant for Graph."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from dev.emulators import EmulatorStack
from dev.emulators import samples as s

from .helpers import PC_RESOURCE


def _graph_exchange(
    stack: EmulatorStack, tenant: str, *, scope: str | None = None, **form: str
) -> Any:
    data = {
        "grant_type": "refresh_token",
        "client_id": s.SAMPLE_APP_ID,
        "client_secret": s.SAMPLE_APP_SECRET,
        "refresh_token": s.SAMPLE_REFRESH_TOKEN,
        "scope": scope or f"{stack.graph.url}/.default",
        **form,
    }
    return requests.post(f"{stack.identity.url}/{tenant}/oauth2/v2.0/token", data=data, timeout=5)


def test_a_customer_tenant_issues_a_graph_token_for_that_tenant(
    emulators: EmulatorStack,
) -> None:
    answer = _graph_exchange(emulators, s.SAMPLE_CUSTOMER_ID)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599
    assert emulators.ledger.is_valid(body["access_token"], emulators.graph.url)
    assert emulators.ledger.tenant_of(body["access_token"]) == s.SAMPLE_CUSTOMER_ID
    assert emulators.identity.graph_exchanges == [s.SAMPLE_CUSTOMER_ID]


def test_the_graph_exchange_rotates_the_refresh_token_like_any_other(
    emulators: EmulatorStack,
) -> None:
    body = _graph_exchange(emulators, s.SAMPLE_CUSTOMER_ID).json()

    assert body["refresh_token"] != s.SAMPLE_REFRESH_TOKEN
    assert emulators.identity.latest_refresh_token == body["refresh_token"]
    assert emulators.identity.exchanges == 1
    assert _graph_exchange(emulators, s.SAMPLE_CUSTOMER_ID, refresh_token=body["refresh_token"]).ok


def test_a_graph_token_is_not_a_partner_center_token(emulators: EmulatorStack) -> None:
    token = _graph_exchange(emulators, s.SAMPLE_CUSTOMER_ID).json()["access_token"]
    assert not emulators.ledger.is_valid(token, PC_RESOURCE)


def test_offline_access_may_accompany_the_graph_scope(emulators: EmulatorStack) -> None:
    scope = f"{emulators.graph.url}/.default offline_access"
    assert _graph_exchange(emulators, s.SAMPLE_CUSTOMER_ID, scope=scope).status_code == 200


def test_the_customer_may_be_named_by_a_verified_domain(emulators: EmulatorStack) -> None:
    answer = _graph_exchange(emulators, s.SAMPLE_CUSTOM_DOMAIN)
    assert answer.status_code == 200
    assert emulators.ledger.tenant_of(answer.json()["access_token"]) == s.SAMPLE_CUSTOMER_ID


def test_the_partner_tenant_issues_a_graph_token(emulators: EmulatorStack) -> None:
    assert _graph_exchange(emulators, emulators.identity.partner_tenant_id).status_code == 200


def test_a_customer_added_later_issues_graph_tokens(emulators: EmulatorStack) -> None:
    tenant_id = str(uuid.uuid4())
    emulators.partner_center.add_customer(tenant_id, "Tailspin", "tailspin.example")
    assert _graph_exchange(emulators, tenant_id).status_code == 200


def test_a_tenant_that_is_no_customer_refuses_the_partners_account(
    emulators: EmulatorStack,
) -> None:
    answer = _graph_exchange(emulators, s.NON_CUSTOMER_TENANT_ID)

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"
    assert answer.json()["error_codes"] == [50020]
    assert emulators.identity.graph_exchanges == []


def test_an_unknown_tenant_is_aadsts90002(emulators: EmulatorStack) -> None:
    answer = _graph_exchange(emulators, str(uuid.uuid4()))
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"
    assert answer.json()["error_codes"] == [90002]


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (65001, "invalid_grant"),
        (700016, "unauthorized_client"),
        (50076, "interaction_required"),
        (53003, "interaction_required"),
    ],
)
def test_a_refused_tenant_answers_the_chosen_aadsts_error(
    emulators: EmulatorStack, code: int, error: str
) -> None:
    emulators.identity.refuse_graph_exchange(s.SAMPLE_CUSTOMER_ID, aadsts=code)

    answer = _graph_exchange(emulators, s.SAMPLE_CUSTOMER_ID)

    assert answer.status_code == 400
    assert answer.json()["error"] == error
    assert answer.json()["error_codes"] == [code]
    assert answer.json()["error_description"].startswith(f"AADSTS{code}: ")


def test_a_refused_tenant_still_lets_the_refresh_token_work_elsewhere(
    emulators: EmulatorStack,
) -> None:
    emulators.identity.refuse_graph_exchange(s.SAMPLE_CUSTOMER_ID)

    assert _graph_exchange(emulators, s.SAMPLE_CUSTOMER_ID).status_code == 400
    assert _graph_exchange(emulators, s.NO_GDAP_CUSTOMER_ID).status_code == 200
    assert s.SAMPLE_REFRESH_TOKEN in emulators.identity.current_refresh_tokens


def test_refusals_are_forgotten_on_reset(emulators: EmulatorStack) -> None:
    emulators.identity.refuse_graph_exchange(s.SAMPLE_CUSTOMER_ID)
    emulators.reset_state()
    assert _graph_exchange(emulators, s.SAMPLE_CUSTOMER_ID).status_code == 200


def test_refusing_with_an_unknown_code_fails_early(emulators: EmulatorStack) -> None:
    with pytest.raises(ValueError, match="AADSTS12345"):
        emulators.identity.refuse_graph_exchange(s.SAMPLE_CUSTOMER_ID, aadsts=12345)


def test_a_revoked_refresh_token_fails_for_graph_too(emulators: EmulatorStack) -> None:
    emulators.identity.revoke_refresh_tokens(aadsts=50173)
    answer = _graph_exchange(emulators, s.SAMPLE_CUSTOMER_ID)
    assert answer.json()["error_codes"] == [50173]


def test_a_wrong_client_secret_fails_for_graph_too(emulators: EmulatorStack) -> None:
    answer = _graph_exchange(emulators, s.SAMPLE_CUSTOMER_ID, client_secret="wrong")
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


def test_the_real_graph_host_is_not_the_emulators_audience(emulators: EmulatorStack) -> None:
    answer = _graph_exchange(
        emulators, s.SAMPLE_CUSTOMER_ID, scope="https://graph.microsoft.com/.default"
    )
    assert answer.json()["error"] == "invalid_scope"


def test_partner_center_scope_stays_limited_to_the_partner_tenant(
    emulators: EmulatorStack,
) -> None:
    answer = _graph_exchange(emulators, s.SAMPLE_CUSTOMER_ID, scope=f"{PC_RESOURCE}/.default")
    assert answer.json()["error_codes"] == [90002]
