"""`python3 -m ops consent` end to end against the identity, Key Vault and Partner Center
emulators, with a scripted browser instead of a person."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from dev.emulators import EmulatorStack, Status
from dev.emulators import samples as s
from dev.emulators.authorize import PARTNER_ADMIN_UPN, pkce_challenge

from .conftest import (
    CANARY_TYPED_SECRET,
    CANARY_VERIFIER,
    NONCE,
    STATE,
    Browser,
    Operator,
    needs_ipv6_loopback,
)

PC_RESOURCE = "https://api.partnercenter.microsoft.com"
RT = s.SECRET_NAME_REFRESH_TOKEN


def _stored_refresh_tokens(stack: EmulatorStack) -> list[str]:
    return stack.key_vault.versions(RT)


def _last_put(stack: EmulatorStack, name: str) -> dict[str, Any]:
    puts = stack.key_vault.requests_to("PUT", f"/secrets/{name}$")
    assert puts, f"nothing was written to {name}"
    body: dict[str, Any] = puts[-1].json()
    return body


def _token_posts(stack: EmulatorStack) -> list[dict[str, str]]:
    return [r.form() for r in stack.identity.requests_to("POST", r"/oauth2/v2\.0/token$")]


def _assert_nothing_stored(stack: EmulatorStack) -> None:
    assert _stored_refresh_tokens(stack) == [s.SAMPLE_REFRESH_TOKEN]
    assert stack.key_vault.writes(RT) == 0


# -- success ---------------------------------------------------------------------------


def test_consent_stores_the_new_refresh_token_as_a_new_version(operator: Operator) -> None:
    stack = operator.stack

    outcome = operator.consent()

    assert outcome.code == 0, outcome.err
    issued = stack.identity.latest_refresh_token
    assert _stored_refresh_tokens(stack) == [s.SAMPLE_REFRESH_TOKEN, issued]
    assert stack.identity.authorization.redeemed == 1


def test_the_stored_version_is_tagged_with_who_consented_and_when(operator: Operator) -> None:
    outcome = operator.consent()

    assert outcome.code == 0, outcome.err
    body = _last_put(operator.stack, RT)
    assert body["tags"] == {
        "consentedBy": PARTNER_ADMIN_UPN,
        "consentedAt": "2026-11-21T10:00:00Z",
        "storedBy": "python3 -m ops consent",
    }
    assert body["contentType"] == "refresh-token"


def test_success_prints_names_versions_and_check_results_only(operator: Operator) -> None:
    outcome = operator.consent()

    assert outcome.code == 0, outcome.err
    put = operator.stack.key_vault.requests_to("PUT", f"/secrets/{RT}$")
    assert len(put) == 1
    lines = outcome.out.splitlines()
    assert f"signed in as {PARTNER_ADMIN_UPN}" in lines
    assert "check MFA: passed (amr: pwd, mfa)" in lines
    assert "check Partner Center read (GET /v1/customers?size=1): passed, HTTP 200" in lines
    assert lines[-2].startswith(f"stored {RT} version ")
    assert lines[-1].startswith("grant: skipped, no azd environment")
    assert outcome.err == ""


def test_the_function_can_exchange_the_stored_refresh_token(operator: Operator) -> None:
    stack = operator.stack
    assert operator.consent().code == 0
    stored = stack.key_vault.secret_value(RT)
    assert stored is not None

    answer = requests.post(
        f"{stack.identity.url}/{stack.identity.partner_tenant_id}/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": s.SAMPLE_APP_ID,
            "client_secret": stack.key_vault.secret_value(s.SECRET_NAME_APP_SECRET),
            "refresh_token": stored,
            "resource": PC_RESOURCE,
        },
        timeout=5,
    )

    assert answer.status_code == 200


def test_the_sign_in_url_asks_for_pkce_select_account_and_the_partner_center_scope(
    operator: Operator,
) -> None:
    stack = operator.stack

    outcome = operator.consent()

    assert outcome.code == 0, outcome.err
    [url] = operator.browser.opened
    assert url in outcome.out.splitlines(), "the URL the browser got is the one printed"
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == stack.identity.url
    assert parts.path == f"/{stack.identity.partner_tenant_id}/oauth2/v2.0/authorize"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["client_id"] == s.SAMPLE_APP_ID
    assert query["response_type"] == "code"
    assert query["prompt"] == "select_account"
    assert query["code_challenge_method"] == "S256"
    assert query["code_challenge"] == pkce_challenge(CANARY_VERIFIER)
    assert (query["state"], query["nonce"]) == (STATE, NONCE)
    assert query["scope"].split()[:2] == [f"{PC_RESOURCE}/user_impersonation", "offline_access"]
    redirect = urlsplit(query["redirect_uri"])
    assert (redirect.scheme, redirect.hostname) == ("http", "localhost")
    assert redirect.port not in (None, 0)


GDAP_READ = "DelegatedAdminRelationship.Read.All"


def _sign_in_scopes(operator: Operator) -> list[str]:
    [url] = operator.browser.opened
    return parse_qs(urlsplit(url).query)["scope"][0].split()


def test_the_sign_in_also_asks_for_graphs_gdap_read_permission_for_dry_runs(
    operator: Operator,
) -> None:
    outcome = operator.consent()

    assert outcome.code == 0, outcome.err
    assert f"{operator.stack.graph.url}/{GDAP_READ}" in _sign_in_scopes(operator)


def test_the_code_is_redeemed_for_partner_center_alone(operator: Operator) -> None:
    # A token request names one resource; the Graph consent given at sign-in stays with
    # the refresh token, which the function redeems for Graph when it needs it.
    assert operator.consent().code == 0

    [form] = _token_posts(operator.stack)
    assert form["scope"].split() == [
        f"{PC_RESOURCE}/user_impersonation",
        "offline_access",
        "openid",
        "profile",
    ]


def test_no_gdap_read_leaves_graph_out_of_the_sign_in(operator: Operator) -> None:
    outcome = operator.consent("--no-gdap-read")

    assert outcome.code == 0, outcome.err
    assert not any(scope.endswith(GDAP_READ) for scope in _sign_in_scopes(operator))


def test_graph_defaults_to_the_global_clouds(operator: Operator) -> None:
    del operator.environ["GRAPH_BASE_URL"]
    operator.browser = Browser(follow=False)

    operator.consent("--timeout", "0.05")

    assert f"https://graph.microsoft.com/{GDAP_READ}" in _sign_in_scopes(operator)


def test_a_declined_sign_in_names_the_flag_that_leaves_graph_out(operator: Operator) -> None:
    operator.stack.identity.authorization.decline_consent()

    outcome = operator.consent()

    assert outcome.code == 1
    assert "--no-gdap-read" in outcome.err
    assert GDAP_READ in outcome.err


def test_the_code_is_redeemed_with_the_verifier_and_the_same_redirect_uri(
    operator: Operator,
) -> None:
    assert operator.consent().code == 0

    [form] = _token_posts(operator.stack)
    sign_in = parse_qs(urlsplit(operator.browser.opened[0]).query)
    assert form["grant_type"] == "authorization_code"
    assert form["code_verifier"] == CANARY_VERIFIER
    assert form["redirect_uri"] == sign_in["redirect_uri"][0]
    assert form["code"] in operator.stack.identity.authorization.issued_codes


def test_the_browser_lands_on_a_page_that_sends_the_operator_back(operator: Operator) -> None:
    assert operator.consent().code == 0
    assert operator.browser.sign_in_status == 302
    assert operator.browser.listener_status == 200


def test_without_a_browser_the_url_is_printed_for_the_operator_to_open(
    operator: Operator,
) -> None:
    operator.browser = Browser(follow=False, available=False)

    outcome = operator.consent("--timeout", "0.05")

    assert "Open it in a browser on this machine" in outcome.out
    assert operator.browser.opened, "opening a browser is still tried"


def test_no_browser_flag_never_opens_one(operator: Operator) -> None:
    outcome = operator.consent("--no-browser", "--timeout", "0.05")

    assert operator.browser.opened == []
    assert outcome.code == 1


def test_app_id_flag_and_prompted_secret_replace_the_vault(operator: Operator) -> None:
    stack = operator.stack
    stack.key_vault.delete_secret(s.SECRET_NAME_APP_ID)
    stack.key_vault.delete_secret(s.SECRET_NAME_APP_SECRET)
    stack.identity.register_app(s.SAMPLE_APP_ID, CANARY_TYPED_SECRET)
    operator.secret_answers.append(CANARY_TYPED_SECRET)

    outcome = operator.consent("--app-id", s.SAMPLE_APP_ID, "--prompt-app-secret")

    assert outcome.code == 0, outcome.err
    assert _token_posts(stack)[0]["client_secret"] == CANARY_TYPED_SECRET


def test_settings_can_come_from_the_azd_environment(operator: Operator) -> None:
    stack = operator.stack
    operator.provisioned(PARTNER_TENANT_ID=operator.environ.pop("PARTNER_TENANT_ID"))
    del operator.environ["KEY_VAULT_URL"]

    outcome = operator.consent()

    assert outcome.code == 0, outcome.err
    assert operator.azd_reads == 1
    assert stack.key_vault.writes(RT) == 1


# -- refusals: nothing is stored ---------------------------------------------------------


def test_a_sign_in_without_mfa_is_refused_with_the_reason(operator: Operator) -> None:
    stack = operator.stack
    stack.identity.authorization.sign_in("nomfa@partnerdemo.onmicrosoft.com", mfa=False)

    outcome = operator.consent()

    assert outcome.code == 1
    assert "did not use multi-factor authentication (amr: pwd)" in outcome.err
    assert "Partner Center refuses App+User tokens without MFA" in outcome.err
    _assert_nothing_stored(stack)
    assert stack.partner_center.requests == [], "no Partner Center read for a refused token"


def test_a_redirect_with_another_state_is_ignored_and_the_wait_runs_out(
    operator: Operator,
) -> None:
    stack = operator.stack
    operator.browser = Browser(rewrite_state="forged-state", in_background=False)

    outcome = operator.consent("--timeout", "0.05")

    assert outcome.code == 1
    assert operator.browser.listener_status == 400
    assert "No sign-in answer reached http://localhost:" in outcome.err
    assert "1 answer with another state was ignored" in outcome.err
    assert _token_posts(stack) == []
    assert stack.identity.authorization.redeemed == 0
    _assert_nothing_stored(stack)


def test_a_forged_error_without_state_does_not_end_the_wait(operator: Operator) -> None:
    stack = operator.stack
    operator.browser = Browser(forged=[{"error": "x"}])

    outcome = operator.consent()

    assert outcome.code == 0, outcome.err
    assert operator.browser.forged_statuses == [400]
    [form] = _token_posts(stack)
    assert form["code"] in stack.identity.authorization.issued_codes
    assert stack.key_vault.writes(RT) == 1


def test_a_forged_code_with_a_wrong_state_is_never_redeemed(operator: Operator) -> None:
    stack = operator.stack
    operator.browser = Browser(forged=[{"code": "evil", "state": "wrong"}])

    outcome = operator.consent()

    assert outcome.code == 0, outcome.err
    assert operator.browser.forged_statuses == [400]
    assert [form["code"] for form in _token_posts(stack)] != ["evil"]
    assert stack.identity.authorization.redeemed == 1
    assert stack.key_vault.writes(RT) == 1


def test_declined_consent_is_reported_and_nothing_stored(operator: Operator) -> None:
    stack = operator.stack
    stack.identity.authorization.decline_consent()

    outcome = operator.consent()

    assert outcome.code == 1
    assert "ended without consent: access_denied (AADSTS65004)" in outcome.err
    assert _token_posts(stack) == []
    _assert_nothing_stored(stack)


def test_a_sign_in_error_is_named_by_its_oauth_and_aadsts_codes(operator: Operator) -> None:
    outcome = operator.consent("--partner-center-resource", "https://graph.microsoft.com")

    assert outcome.code == 1
    assert "The sign-in failed: invalid_scope (AADSTS70011)" in outcome.err
    assert _token_posts(operator.stack) == []
    _assert_nothing_stored(operator.stack)


def test_a_busy_port_fails_before_the_sign_in_starts(operator: Operator) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        outcome = operator.run(
            "consent", "--redirect-uri", f"http://localhost:{port}", "--timeout", "10"
        )

    assert outcome.code == 1
    assert f"Cannot listen on 127.0.0.1:{port}" in outcome.err
    assert "the port is in use" in outcome.err
    assert operator.browser.opened == []
    assert "authorize" not in outcome.out
    _assert_nothing_stored(operator.stack)


@needs_ipv6_loopback
def test_a_port_taken_on_ipv6_loopback_fails_before_the_sign_in_starts(
    operator: Operator,
) -> None:
    # Another process on [::1] would get every browser that resolves localhost to ::1.
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as busy:
        busy.bind(("::1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        outcome = operator.run(
            "consent", "--redirect-uri", f"http://localhost:{port}", "--timeout", "10"
        )

    assert outcome.code == 1
    assert f"Cannot listen on [::1]:{port}" in outcome.err
    assert "the port is in use" in outcome.err
    assert operator.browser.opened == []
    assert "authorize" not in outcome.out
    _assert_nothing_stored(operator.stack)


def test_no_answer_within_the_timeout_stores_nothing(operator: Operator) -> None:
    operator.browser = Browser(follow=False)

    outcome = operator.consent("--timeout", "0.05")

    assert outcome.code == 1
    assert "No sign-in answer reached http://localhost:" in outcome.err
    assert "within 0.05 s; nothing was stored" in outcome.err
    _assert_nothing_stored(operator.stack)


def test_a_failed_partner_center_read_stores_nothing(operator: Operator) -> None:
    stack = operator.stack
    stack.partner_center.inject(
        Status(403, {"code": 2032, "description": "Access denied", "source": "PartnerFD"}),
        path="/v1/customers",
    )

    outcome = operator.consent()

    assert outcome.code == 1
    assert "check MFA: passed" in outcome.out
    assert "check Partner Center read (GET /v1/customers?size=1): failed, HTTP 403" in outcome.err
    assert "Partner Center code 2032" in outcome.err
    assert "Access denied" not in outcome.err, "upstream free text is not quoted"
    _assert_nothing_stored(stack)


def test_a_wrong_app_secret_is_named_with_its_aadsts_code(operator: Operator) -> None:
    operator.secret_answers.append(CANARY_TYPED_SECRET)

    outcome = operator.consent("--prompt-app-secret")

    assert outcome.code == 1
    assert "invalid_client, AADSTS7000215" in outcome.err
    assert "python3 -m ops secrets" in outcome.err
    _assert_nothing_stored(operator.stack)


def test_a_missing_app_secret_points_at_the_secrets_command_before_any_sign_in(
    operator: Operator,
) -> None:
    operator.stack.key_vault.delete_secret(s.SECRET_NAME_APP_SECRET)

    outcome = operator.consent()

    assert outcome.code == 1
    assert f"no secret '{s.SECRET_NAME_APP_SECRET}'" in outcome.err
    assert "python3 -m ops secrets" in outcome.err
    assert operator.browser.opened == []


def test_no_terminal_for_the_app_secret_prompt_is_explained(operator: Operator) -> None:
    outcome = operator.consent("--prompt-app-secret")

    assert outcome.code == 1
    assert "no terminal" in outcome.err
    assert operator.browser.opened == []


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("AUTHORITY_HOST", "http://login.example.com", "AUTHORITY_HOST must use https"),
        ("PARTNER_CENTER_BASE_URL", "ftp://127.0.0.1", "PARTNER_CENTER_BASE_URL must be"),
        ("KEY_VAULT_URL", "http://vault.example.net", "KEY_VAULT_URL must use https"),
        ("GRAPH_BASE_URL", "http://graph.example.com", "GRAPH_BASE_URL must use https"),
        ("PARTNER_TENANT_ID", "not a tenant", "PARTNER_TENANT_ID must be a tenant ID"),
        ("SECRET_NAME_REFRESH_TOKEN", "bad_name", "SECRET_NAME_REFRESH_TOKEN must be"),
    ],
)
def test_bad_settings_are_named_before_anything_happens(
    operator: Operator, setting: str, value: str, message: str
) -> None:
    operator.environ[setting] = value

    outcome = operator.consent()

    assert outcome.code == 1
    assert message in outcome.err
    assert operator.stack.key_vault.requests == []
    assert operator.browser.opened == []


def test_a_missing_tenant_names_the_flag_the_variable_and_azd(operator: Operator) -> None:
    del operator.environ["PARTNER_TENANT_ID"]

    outcome = operator.consent()

    assert outcome.code == 1
    assert "PARTNER_TENANT_ID is not set: pass --tenant" in outcome.err
    assert "azd env set PARTNER_TENANT_ID" in outcome.err


# -- Key Vault refuses the write -----------------------------------------------------------


def test_a_refused_write_says_what_to_do_and_leaves_the_old_token(operator: Operator) -> None:
    stack = operator.stack
    stack.key_vault.read_only = True

    outcome = operator.consent()

    assert outcome.code == 1
    assert "Key Vault refused (HTTP 403, Forbidden)" in outcome.err
    assert "'Key Vault Secrets Officer'" in outcome.err
    assert "was NOT stored" in outcome.err
    assert f"'{RT}' is unchanged" in outcome.err
    assert "run `python3 -m ops consent` again" in outcome.err
    assert _stored_refresh_tokens(stack) == [s.SAMPLE_REFRESH_TOKEN]


def test_without_a_vault_role_it_stops_before_the_sign_in_naming_the_role_to_get(
    operator: Operator,
) -> None:
    # GRANT_DEPLOYER_SECRETS_OFFICER=false: the role is granted just in time, or not yet.
    operator.stack.key_vault.no_role = True

    outcome = operator.consent()

    assert outcome.code == 1
    assert f"Could not read secret '{s.SECRET_NAME_APP_ID}'" in outcome.err
    assert "'Key Vault Secrets Officer' role on the vault" in outcome.err
    assert "just in time" in outcome.err
    assert operator.browser.opened == []


def test_a_refused_write_can_be_retried_once_access_is_fixed(operator: Operator) -> None:
    stack = operator.stack
    stack.key_vault.read_only = True
    questions: list[str] = []

    def grant_role_then_retry(question: str) -> bool:
        questions.append(question)
        stack.key_vault.read_only = False
        return True

    operator.confirm = grant_role_then_retry

    outcome = operator.consent()

    assert outcome.code == 0, outcome.err
    assert len(questions) == 1
    assert "held in memory only" in questions[0]
    assert _stored_refresh_tokens(stack) == [
        s.SAMPLE_REFRESH_TOKEN,
        stack.identity.latest_refresh_token,
    ]
    assert stack.key_vault.writes(RT) == 2
