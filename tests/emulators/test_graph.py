"""Graph emulator: POST /v1.0/users/{id}/revokeSignInSessions."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from dev.emulators import EmulatorStack, Hang, Revocation, Status
from dev.emulators import samples as s
from dev.emulators.graph import graph_error

from .helpers import partner_token


def _revoke(stack: EmulatorStack, user: str, token: str | None, **headers: str) -> Any:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(
        f"{stack.graph.url}/v1.0/users/{user}/revokeSignInSessions", headers=headers, timeout=5
    )


def _contoso_token(stack: EmulatorStack) -> str:
    return stack.graph.issue_token(s.SAMPLE_CUSTOMER_ID)


def test_revoking_a_known_user_answers_true_and_is_recorded(emulators: EmulatorStack) -> None:
    answer = _revoke(emulators, s.SAMPLE_USER_ID, _contoso_token(emulators))

    assert answer.status_code == 200
    assert answer.json() == {
        "@odata.context": f"{emulators.graph.url}/v1.0/$metadata#Edm.Boolean",
        "value": True,
    }
    assert emulators.graph.revocations == [Revocation(s.SAMPLE_CUSTOMER_ID, s.SAMPLE_USER_ID)]


def test_a_user_may_be_named_by_upn(emulators: EmulatorStack) -> None:
    answer = _revoke(emulators, s.SAMPLE_CUSTOM_DOMAIN_USER_UPN, _contoso_token(emulators))
    assert answer.status_code == 200
    assert emulators.graph.revocations[0].user_id == s.SAMPLE_CUSTOM_DOMAIN_USER_ID


def test_a_token_from_the_identity_emulator_works_end_to_end(emulators: EmulatorStack) -> None:
    token = requests.post(
        f"{emulators.identity.url}/{s.SAMPLE_CUSTOMER_ID}/oauth2/v2.0/token",
        data={
            "grant_type": "refresh_token",
            "client_id": s.SAMPLE_APP_ID,
            "client_secret": s.SAMPLE_APP_SECRET,
            "refresh_token": s.SAMPLE_REFRESH_TOKEN,
            "scope": f"{emulators.settings()['GRAPH_BASE_URL']}/.default",
        },
        timeout=5,
    ).json()["access_token"]

    assert _revoke(emulators, s.SAMPLE_USER_ID, token).status_code == 200


def test_no_token_is_401_invalid_authentication_token(emulators: EmulatorStack) -> None:
    answer = _revoke(emulators, s.SAMPLE_USER_ID, None)

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert emulators.graph.revocations == []


@pytest.mark.parametrize("kind", ["unknown", "partner_center", "no_tenant", "expired"])
def test_a_token_that_is_no_graph_token_for_a_tenant_is_401(
    emulators: EmulatorStack, kind: str
) -> None:
    if kind == "unknown":
        token = "emu-not-issued"
    elif kind == "partner_center":
        token = partner_token(emulators)
    elif kind == "no_tenant":
        token = emulators.ledger.issue(emulators.graph.url, 600)
    else:
        token = emulators.graph.issue_token(s.SAMPLE_CUSTOMER_ID, lifetime_s=-1)
    answer = _revoke(emulators, s.SAMPLE_USER_ID, token)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_an_unknown_user_is_404_resource_not_found(emulators: EmulatorStack) -> None:
    answer = _revoke(emulators, str(uuid.uuid4()), _contoso_token(emulators))

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "Request_ResourceNotFound"


def test_users_are_looked_up_in_the_tokens_tenant_only(emulators: EmulatorStack) -> None:
    fabrikam_token = emulators.graph.issue_token(s.NO_GDAP_CUSTOMER_ID)
    assert _revoke(emulators, s.SAMPLE_USER_ID, fabrikam_token).status_code == 404


def test_a_user_added_to_partner_center_exists_in_graph(emulators: EmulatorStack) -> None:
    user = emulators.partner_center.add_user(
        s.SAMPLE_CUSTOMER_ID, user_principal_name="new@contoso.com", first_name="N", last_name="U"
    )
    assert _revoke(emulators, user.id, _contoso_token(emulators)).status_code == 200


def test_a_forbidden_user_is_403_and_not_revoked(emulators: EmulatorStack) -> None:
    emulators.graph.forbid_user(s.SAMPLE_ADMIN_USER_ID)

    answer = _revoke(emulators, s.SAMPLE_ADMIN_USER_ID, _contoso_token(emulators))

    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "Authorization_RequestDenied"
    assert emulators.graph.revocations == []


def test_a_forbidden_tenant_is_403_for_every_user(emulators: EmulatorStack) -> None:
    emulators.graph.forbid_tenant(s.SAMPLE_CUSTOMER_ID)
    answer = _revoke(emulators, s.SAMPLE_USER_ID, _contoso_token(emulators))
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "Authorization_RequestDenied"


def test_reset_forgets_revocations_and_forbidden_users(emulators: EmulatorStack) -> None:
    assert _revoke(emulators, s.SAMPLE_USER_ID, _contoso_token(emulators)).ok
    emulators.graph.forbid_user(s.SAMPLE_USER_ID)

    emulators.reset_state()

    assert emulators.graph.revocations == []
    assert _revoke(emulators, s.SAMPLE_USER_ID, _contoso_token(emulators)).status_code == 200


def test_an_injected_429_carries_retry_after_and_revokes_nothing(
    emulators: EmulatorStack,
) -> None:
    body = graph_error("TooManyRequests", "Too many requests.")
    emulators.graph.inject(Status(429, body, {"Retry-After": "3"}), path="revokeSignInSessions")

    throttled = _revoke(emulators, s.SAMPLE_USER_ID, _contoso_token(emulators))
    retried = _revoke(emulators, s.SAMPLE_USER_ID, _contoso_token(emulators))

    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "3"
    assert throttled.json()["error"]["code"] == "TooManyRequests"
    assert retried.status_code == 200
    assert len(emulators.graph.revocations) == 1


def test_an_injected_503_is_answered(emulators: EmulatorStack) -> None:
    emulators.graph.inject(Status(503, graph_error("serviceNotAvailable", "Try later.")))
    assert _revoke(emulators, s.SAMPLE_USER_ID, _contoso_token(emulators)).status_code == 503


def test_an_injected_hang_times_the_client_out(emulators: EmulatorStack) -> None:
    emulators.graph.inject(Hang(5))
    with pytest.raises(requests.Timeout):
        requests.post(
            f"{emulators.graph.url}/v1.0/users/{s.SAMPLE_USER_ID}/revokeSignInSessions",
            headers={"Authorization": f"Bearer {_contoso_token(emulators)}"},
            timeout=0.3,
        )


def test_the_client_request_id_is_echoed(emulators: EmulatorStack) -> None:
    answer = _revoke(
        emulators, s.SAMPLE_USER_ID, _contoso_token(emulators), **{"client-request-id": "abc"}
    )
    assert answer.headers["client-request-id"] == "abc"
    assert answer.headers["request-id"]


def test_an_unknown_path_is_400_bad_request(emulators: EmulatorStack) -> None:
    answer = requests.post(
        f"{emulators.graph.url}/v1.0/users/{s.SAMPLE_USER_ID}/nothing",
        headers={"Authorization": f"Bearer {_contoso_token(emulators)}"},
        timeout=5,
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "BadRequest"


def test_settings_point_graph_base_url_at_the_emulator(emulators: EmulatorStack) -> None:
    assert emulators.settings()["GRAPH_BASE_URL"] == emulators.graph.url
    assert emulators.identity.graph_audience == emulators.graph.url
