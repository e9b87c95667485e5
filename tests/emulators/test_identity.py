"""Identity emulator: refresh-token grants (v1 and v2), their failures, OIDC and caller tokens."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
import requests

from dev.emulators import EmulatorStack
from dev.emulators import samples as s
from dev.emulators.identity import CALLER_APP_ID, CALLER_AUDIENCE

from .helpers import PC_RESOURCE, exchange_v1


def _exchange_v2(stack: EmulatorStack, scope: str, **form: str) -> Any:
    data = {
        "grant_type": "refresh_token",
        "client_id": s.SAMPLE_APP_ID,
        "client_secret": s.SAMPLE_APP_SECRET,
        "refresh_token": s.SAMPLE_REFRESH_TOKEN,
        "scope": scope,
        **form,
    }
    return requests.post(
        f"{stack.identity.url}/{stack.identity.partner_tenant_id}/oauth2/v2.0/token",
        data=data,
        timeout=5,
    )


def test_v1_exchange_answers_like_the_real_v1_endpoint(emulators: EmulatorStack) -> None:
    answer = exchange_v1(emulators)

    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "user_impersonation"
    assert body["expires_in"] == "3599"
    assert isinstance(body["expires_on"], str)
    assert int(body["expires_on"]) > time.time() + 3500
    assert body["resource"] == PC_RESOURCE
    assert emulators.ledger.is_valid(body["access_token"], PC_RESOURCE)
    assert body["refresh_token"] != s.SAMPLE_REFRESH_TOKEN
    assert emulators.identity.exchanges == 1
    assert emulators.identity.latest_refresh_token == body["refresh_token"]


@pytest.mark.parametrize(
    "scope",
    [
        f"{PC_RESOURCE}/.default",
        f"{PC_RESOURCE}/.default offline_access",
        f"{PC_RESOURCE}/user_impersonation offline_access",
    ],
)
def test_v2_exchange_answers_an_integer_lifetime(emulators: EmulatorStack, scope: str) -> None:
    answer = _exchange_v2(emulators, scope)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["expires_in"] == 3599
    assert body["token_type"] == "Bearer"
    assert emulators.ledger.is_valid(body["access_token"], PC_RESOURCE)


def test_v2_rejects_a_foreign_scope(emulators: EmulatorStack) -> None:
    answer = _exchange_v2(emulators, "https://graph.microsoft.com/.default")
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_scope"


def test_refresh_tokens_rotate_and_old_ones_stay_valid_by_default(
    emulators: EmulatorStack,
) -> None:
    first = exchange_v1(emulators).json()["refresh_token"]
    second = exchange_v1(emulators, first).json()["refresh_token"]

    assert exchange_v1(emulators).status_code == 200
    assert {first, second} <= set(emulators.identity.current_refresh_tokens)


def test_used_refresh_tokens_can_be_made_single_use(emulators: EmulatorStack) -> None:
    emulators.identity.revoke_used_refresh_tokens = True
    assert exchange_v1(emulators).status_code == 200

    again = exchange_v1(emulators)

    assert again.status_code == 400
    assert again.json()["error_codes"] == [700082]


def test_access_token_lifetime_is_settable(emulators: EmulatorStack) -> None:
    emulators.identity.access_token_lifetime = 1
    token = exchange_v1(emulators).json()["access_token"]
    assert emulators.ledger.is_valid(token, PC_RESOURCE)
    now = time.time()
    emulators.ledger.clock = lambda: now + 1.05
    assert not emulators.ledger.is_valid(token, PC_RESOURCE)


def test_unknown_refresh_token_is_expired_grant(emulators: EmulatorStack) -> None:
    answer = exchange_v1(emulators, "not-a-token")

    assert answer.status_code == 400
    body = answer.json()
    assert body["error"] == "invalid_grant"
    assert body["error_codes"] == [700082]
    assert body["error_description"].startswith("AADSTS700082: ")
    assert "\r\nTrace ID: " in body["error_description"]
    assert "\r\nCorrelation ID: " in body["error_description"]
    assert {"timestamp", "trace_id", "correlation_id", "error_uri"} <= set(body)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (50173, "invalid_grant"),
        (700082, "invalid_grant"),
        (50076, "interaction_required"),
        (50079, "interaction_required"),
        (53003, "interaction_required"),
    ],
)
def test_revoked_refresh_tokens_fail_with_the_chosen_code(
    emulators: EmulatorStack, code: int, error: str
) -> None:
    emulators.identity.revoke_refresh_tokens(aadsts=code)

    answer = exchange_v1(emulators)

    assert answer.status_code == 400
    assert answer.json()["error"] == error
    assert answer.json()["error_codes"] == [code]
    assert emulators.identity.current_refresh_tokens == []


def test_a_token_added_after_revocation_works(emulators: EmulatorStack) -> None:
    emulators.identity.revoke_refresh_tokens()
    emulators.identity.add_refresh_token("fresh-consent", s.SAMPLE_APP_ID)
    assert exchange_v1(emulators, "fresh-consent").status_code == 200


def test_revoking_with_an_unknown_code_fails_early(emulators: EmulatorStack) -> None:
    with pytest.raises(ValueError, match="AADSTS12345"):
        emulators.identity.revoke_refresh_tokens(aadsts=12345)


def test_wrong_client_secret_is_invalid_client(emulators: EmulatorStack) -> None:
    answer = _exchange_v2(emulators, f"{PC_RESOURCE}/.default", client_secret="wrong")
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert answer.json()["error_codes"] == [7000215]


def test_expired_client_secret(emulators: EmulatorStack) -> None:
    emulators.identity.expire_client_secret()
    answer = exchange_v1(emulators)
    assert answer.status_code == 401
    assert answer.json()["error_codes"] == [7000222]


def test_unknown_tenant(emulators: EmulatorStack) -> None:
    answer = requests.post(
        f"{emulators.identity.url}/no-such-tenant/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": s.SAMPLE_APP_ID,
            "client_secret": s.SAMPLE_APP_SECRET,
            "refresh_token": s.SAMPLE_REFRESH_TOKEN,
            "resource": PC_RESOURCE,
        },
        timeout=5,
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"
    assert answer.json()["error_codes"] == [90002]


def test_correlation_id_is_echoed_from_client_request_id(emulators: EmulatorStack) -> None:
    answer = requests.post(
        f"{emulators.identity.url}/{emulators.identity.partner_tenant_id}/oauth2/token",
        data={"grant_type": "refresh_token"},
        headers={"client-request-id": "11111111-2222-3333-4444-555555555555"},
        timeout=5,
    )
    assert answer.json()["correlation_id"] == "11111111-2222-3333-4444-555555555555"


def test_openid_configuration_points_at_the_emulator(emulators: EmulatorStack) -> None:
    identity = emulators.identity
    config = requests.get(
        f"{identity.url}/{identity.caller_tenant_id}/v2.0/.well-known/openid-configuration",
        timeout=5,
    ).json()

    assert config["issuer"] == f"{identity.url}/{identity.caller_tenant_id}/v2.0"
    assert config["jwks_uri"] == f"{identity.url}/{identity.caller_tenant_id}/discovery/v2.0/keys"
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]
    assert config["token_endpoint"].startswith(identity.url)


def _verify(stack: EmulatorStack, token: str) -> dict[str, Any]:
    identity = stack.identity
    client = jwt.PyJWKClient(
        f"{identity.url}/{identity.caller_tenant_id}/discovery/v2.0/keys", cache_keys=False
    )
    key = client.get_signing_key_from_jwt(token)
    claims: dict[str, Any] = jwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        audience=CALLER_AUDIENCE,
        issuer=identity.caller_issuer(),
    )
    return claims


def test_minted_caller_token_verifies_against_the_jwks(emulators: EmulatorStack) -> None:
    before = emulators.identity.jwks_fetches
    token = emulators.identity.mint_caller_token({"roles": ["Other"], "azp": None})

    claims = _verify(emulators, token)

    assert claims["roles"] == ["Other"]
    assert "azp" not in claims
    assert claims["tid"] == emulators.identity.caller_tenant_id
    assert claims["exp"] - claims["iat"] == 3600
    assert emulators.identity.jwks_fetches == before + 1
    assert jwt.get_unverified_header(token)["kid"] == emulators.identity.current_kid


def test_default_claims_name_the_sample_caller(emulators: EmulatorStack) -> None:
    claims = _verify(emulators, emulators.identity.mint_caller_token({}))
    assert claims["azp"] == CALLER_APP_ID
    assert claims["roles"] == ["PasswordReset.Invoke"]


def test_key_rotation_keeps_or_retires_old_keys(emulators: EmulatorStack) -> None:
    identity = emulators.identity
    old_token = identity.mint_caller_token({})
    identity.rotate_signing_key()
    new_token = identity.mint_caller_token({})

    assert _verify(emulators, old_token)
    assert _verify(emulators, new_token)

    identity.rotate_signing_key(retire_old=True)
    with pytest.raises(jwt.PyJWKClientError):
        _verify(emulators, new_token)


def test_unpublished_key_is_never_in_the_jwks(emulators: EmulatorStack) -> None:
    stranger = emulators.identity.unpublished_key()
    token = emulators.identity.mint_caller_token({}, key=stranger)
    assert jwt.get_unverified_header(token)["kid"] == stranger.kid
    with pytest.raises(jwt.PyJWKClientError):
        _verify(emulators, token)


def test_unpublished_key_under_a_published_kid_fails_the_signature(
    emulators: EmulatorStack,
) -> None:
    identity = emulators.identity
    token = identity.mint_caller_token({}, key=identity.unpublished_key(), kid=identity.current_kid)
    with pytest.raises(jwt.InvalidSignatureError):
        _verify(emulators, token)


def test_hs256_with_the_public_key_is_a_well_formed_forgery(emulators: EmulatorStack) -> None:
    identity = emulators.identity
    forged = identity.mint_caller_token({}, algorithm="HS256", key=identity.public_key_pem)

    assert jwt.get_unverified_header(forged)["alg"] == "HS256"
    with pytest.raises(jwt.InvalidTokenError):
        _verify(emulators, forged)


def test_alg_none_token(emulators: EmulatorStack) -> None:
    token = emulators.identity.mint_caller_token({}, algorithm="none")
    assert token.endswith(".")
    assert jwt.get_unverified_header(token)["alg"] == "none"


def test_extra_headers_override_and_none_removes(emulators: EmulatorStack) -> None:
    token = emulators.identity.mint_caller_token({}, headers={"kid": None, "typ": "at+jwt"})
    header = jwt.get_unverified_header(token)
    assert "kid" not in header
    assert header["typ"] == "at+jwt"


def test_the_refresh_grant_issues_a_jwt_carrying_mfa(emulators: EmulatorStack) -> None:
    token = exchange_v1(emulators).json()["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["amr"] == ["pwd", "mfa"]
    assert claims["aud"] == PC_RESOURCE
    assert emulators.ledger.is_valid(token, PC_RESOURCE)


def test_the_refresh_grants_sign_in_methods_are_settable(emulators: EmulatorStack) -> None:
    emulators.identity.refresh_grant_amr = ["pwd"]
    token = exchange_v1(emulators).json()["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["amr"] == ["pwd"]


def test_the_refresh_grant_can_issue_opaque_tokens(emulators: EmulatorStack) -> None:
    emulators.identity.refresh_grant_amr = None
    token = exchange_v1(emulators).json()["access_token"]
    assert token.startswith("emu-")
