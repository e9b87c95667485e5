"""Reading the consent's tokens: MFA, who consented, and that the ID token is ours."""

from __future__ import annotations

import jwt
import pytest

from ops.errors import OpsError
from ops.token_claims import check_nonce, consenting_user, require_mfa, unverified_claims


def _token(**claims: object) -> str:
    return jwt.encode(dict(claims), "k" * 32, algorithm="HS256")


def test_claims_are_read_without_a_key_and_garbage_reads_as_none() -> None:
    assert unverified_claims(_token(amr=["pwd", "mfa"])) == {"amr": ["pwd", "mfa"]}
    assert unverified_claims("emu-opaque-token") == {}
    assert unverified_claims(None) == {}


def test_mfa_among_the_methods_passes() -> None:
    assert require_mfa({"amr": ["pwd", "mfa"]}) == ["pwd", "mfa"]


@pytest.mark.parametrize(
    ("claims", "shown"),
    [({"amr": ["pwd"]}, "amr: pwd"), ({"amr": "mfa"}, "amr: none"), ({"upn": "x"}, "amr: none")],
)
def test_no_mfa_is_refused_naming_the_methods(claims: dict[str, object], shown: str) -> None:
    with pytest.raises(OpsError, match=shown):
        require_mfa(claims)


def test_an_unreadable_access_token_cannot_prove_mfa() -> None:
    with pytest.raises(OpsError, match="cannot be confirmed"):
        require_mfa({})


def test_the_nonce_must_be_ours_when_there_is_an_id_token() -> None:
    check_nonce({}, "n")
    check_nonce({"nonce": "n"}, "n")
    with pytest.raises(OpsError, match="nonce mismatch"):
        check_nonce({"nonce": "other"}, "n")
    with pytest.raises(OpsError, match="nonce mismatch"):
        check_nonce({"upn": "a@b"}, "n")


def test_the_consenting_user_comes_from_the_id_token_then_the_access_token() -> None:
    assert consenting_user({"upn": "a@x", "preferred_username": "b@x"}, {}) == "a@x"
    assert consenting_user({"preferred_username": "b@x"}, {"upn": "c@x"}) == "b@x"
    assert consenting_user({}, {"unique_name": "d@x"}) == "d@x"
    assert consenting_user({}, {}) == "unknown"
