"""Identity emulator: the sign-in redirect and the authorization-code grant with PKCE."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests

from dev.emulators import EmulatorStack
from dev.emulators import samples as s
from dev.emulators.authorize import PARTNER_ADMIN_UPN, pkce_challenge

from .helpers import PC_RESOURCE, exchange_v1

REDIRECT_URI = "http://localhost:8400"
SCOPE = f"{PC_RESOURCE}/user_impersonation offline_access openid profile"


def _authorize(stack: EmulatorStack, verifier: str, **overrides: str | None) -> requests.Response:
    identity = stack.identity
    params: dict[str, str | None] = {
        "client_id": s.SAMPLE_APP_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": SCOPE,
        "state": "state-123",
        "nonce": "nonce-456",
        "code_challenge": pkce_challenge(verifier),
        "code_challenge_method": "S256",
        "prompt": "select_account",
    }
    params.update(overrides)
    return requests.get(
        f"{identity.url}/{identity.partner_tenant_id}/oauth2/v2.0/authorize",
        params={k: v for k, v in params.items() if v is not None},
        allow_redirects=False,
        timeout=5,
    )


def _callback(answer: requests.Response) -> dict[str, str]:
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _redeem(stack: EmulatorStack, code: str, verifier: str, **overrides: str) -> Any:
    identity = stack.identity
    form = {
        "grant_type": "authorization_code",
        "client_id": s.SAMPLE_APP_ID,
        "client_secret": s.SAMPLE_APP_SECRET,
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
        **overrides,
    }
    return requests.post(
        f"{identity.url}/{identity.partner_tenant_id}/oauth2/v2.0/token", data=form, timeout=5
    )


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


@pytest.fixture
def verifier() -> str:
    return secrets.token_urlsafe(64)


def test_signed_in_user_is_redirected_back_with_a_code_and_the_state(
    emulators: EmulatorStack, verifier: str
) -> None:
    params = _callback(_authorize(emulators, verifier))

    assert params["state"] == "state-123"
    assert params["code"] in emulators.identity.authorization.issued_codes


def test_code_grant_with_the_right_verifier_hands_out_all_three_tokens(
    emulators: EmulatorStack, verifier: str
) -> None:
    code = _callback(_authorize(emulators, verifier))["code"]

    answer = _redeem(emulators, code, verifier)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == f"{PC_RESOURCE}/user_impersonation"
    access = _claims(body["access_token"])
    assert access["amr"] == ["pwd", "mfa"]
    assert access["aud"] == PC_RESOURCE
    assert access["upn"] == PARTNER_ADMIN_UPN
    identity = _claims(body["id_token"])
    assert identity["preferred_username"] == identity["upn"] == PARTNER_ADMIN_UPN
    assert identity["aud"] == s.SAMPLE_APP_ID
    assert identity["nonce"] == "nonce-456"
    assert emulators.ledger.is_valid(body["access_token"], PC_RESOURCE)
    assert emulators.identity.authorization.redeemed == 1


def test_the_consented_refresh_token_works_in_the_refresh_grant(
    emulators: EmulatorStack, verifier: str
) -> None:
    code = _callback(_authorize(emulators, verifier))["code"]
    refresh_token = _redeem(emulators, code, verifier).json()["refresh_token"]

    assert emulators.identity.latest_refresh_token == refresh_token
    assert exchange_v1(emulators, refresh_token).status_code == 200


def test_the_access_token_is_accepted_by_partner_center(
    emulators: EmulatorStack, verifier: str
) -> None:
    code = _callback(_authorize(emulators, verifier))["code"]
    token = _redeem(emulators, code, verifier).json()["access_token"]

    answer = requests.get(
        f"{emulators.partner_center.url}/v1/customers",
        params={"size": "1"},
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=5,
    )

    assert answer.status_code == 200


def test_a_sign_in_without_mfa_yields_a_password_only_amr(
    emulators: EmulatorStack, verifier: str
) -> None:
    emulators.identity.authorization.sign_in("ops@partnerdemo.onmicrosoft.com", mfa=False)
    code = _callback(_authorize(emulators, verifier))["code"]

    access = _claims(_redeem(emulators, code, verifier).json()["access_token"])

    assert access["amr"] == ["pwd"]
    assert access["upn"] == "ops@partnerdemo.onmicrosoft.com"


def test_a_wrong_verifier_is_refused_and_spends_the_code(
    emulators: EmulatorStack, verifier: str
) -> None:
    code = _callback(_authorize(emulators, verifier))["code"]

    wrong = _redeem(emulators, code, secrets.token_urlsafe(64))
    again = _redeem(emulators, code, verifier)

    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    assert wrong.json()["error_codes"] == [501481]
    assert again.json()["error_codes"] == [54005]
    assert emulators.identity.authorization.redeemed == 0


def test_a_code_is_single_use(emulators: EmulatorStack, verifier: str) -> None:
    code = _callback(_authorize(emulators, verifier))["code"]
    assert _redeem(emulators, code, verifier).status_code == 200

    again = _redeem(emulators, code, verifier)

    assert again.status_code == 400
    assert again.json()["error_codes"] == [54005]


@pytest.mark.parametrize(
    ("overrides", "aadsts"),
    [
        ({"redirect_uri": "http://localhost:8401"}, 50011),
        ({"client_secret": "wrong"}, 7000215),
        ({"code_verifier": ""}, 900144),
        ({"scope": "https://graph.microsoft.com/.default"}, 70000),
    ],
)
def test_code_grant_refusals(
    emulators: EmulatorStack, verifier: str, overrides: dict[str, str], aadsts: int
) -> None:
    code = _callback(_authorize(emulators, verifier))["code"]

    answer = _redeem(emulators, code, verifier, **overrides)

    assert answer.status_code in (400, 401)
    assert answer.json()["error_codes"] == [aadsts]


def test_an_unknown_code_is_invalid_grant(emulators: EmulatorStack, verifier: str) -> None:
    answer = _redeem(emulators, "emu-code-never-issued", verifier)
    assert answer.json()["error"] == "invalid_grant"


def test_declined_consent_redirects_with_access_denied(
    emulators: EmulatorStack, verifier: str
) -> None:
    emulators.identity.authorization.decline_consent()

    params = _callback(_authorize(emulators, verifier))

    assert params["error"] == "access_denied"
    assert params["error_description"].startswith("AADSTS65004: ")
    assert params["state"] == "state-123"
    assert "code" not in params


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_id": "00000000-0000-4000-8000-000000000000"},
        {"redirect_uri": "http://attacker.example/cb"},
        {"redirect_uri": None},
    ],
)
def test_an_unknown_client_or_redirect_gets_an_error_page_not_a_redirect(
    emulators: EmulatorStack, verifier: str, overrides: dict[str, str | None]
) -> None:
    answer = _authorize(emulators, verifier, **overrides)

    assert answer.status_code == 400
    assert "Location" not in answer.headers
    assert answer.headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "https://graph.microsoft.com/.default"}, "invalid_scope"),
        ({"scope": None}, "invalid_request"),
    ],
)
def test_bad_sign_in_requests_redirect_with_the_error(
    emulators: EmulatorStack, verifier: str, overrides: dict[str, str | None], error: str
) -> None:
    params = _callback(_authorize(emulators, verifier, **overrides))
    assert params["error"] == error
    assert params["state"] == "state-123"


def test_a_sign_in_may_ask_consent_for_graphs_gdap_read_beside_partner_center(
    emulators: EmulatorStack, verifier: str
) -> None:
    gdap_read = f"{emulators.graph.url}/DelegatedAdminRelationship.Read.All"

    params = _callback(_authorize(emulators, verifier, scope=f"{SCOPE} {gdap_read}"))
    tokens = _redeem(emulators, params["code"], verifier, scope=SCOPE)

    assert "code" in params
    assert tokens.status_code == 200


def test_any_other_graph_permission_at_sign_in_is_invalid_scope(
    emulators: EmulatorStack, verifier: str
) -> None:
    other = f"{emulators.graph.url}/Directory.ReadWrite.All"

    params = _callback(_authorize(emulators, verifier, scope=f"{SCOPE} {other}"))

    assert params["error"] == "invalid_scope"


def test_reset_forgets_codes_and_sign_in_choices(emulators: EmulatorStack, verifier: str) -> None:
    authorization = emulators.identity.authorization
    authorization.sign_in("someone@else.example", mfa=False)
    authorization.decline_consent()
    _authorize(emulators, verifier)

    emulators.reset_state()

    assert authorization.issued_codes == []
    code = _callback(_authorize(emulators, verifier))["code"]
    assert _claims(_redeem(emulators, code, verifier).json()["access_token"])["amr"] == [
        "pwd",
        "mfa",
    ]


def test_refresh_token_grants_still_reach_the_refresh_handler(emulators: EmulatorStack) -> None:
    identity = emulators.identity
    answer = requests.post(
        f"{identity.url}/{identity.partner_tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "refresh_token",
            "client_id": s.SAMPLE_APP_ID,
            "client_secret": s.SAMPLE_APP_SECRET,
            "refresh_token": s.SAMPLE_REFRESH_TOKEN,
            "scope": f"{PC_RESOURCE}/.default",
        },
        timeout=5,
    )
    assert answer.status_code == 200
    assert identity.exchanges == 1
