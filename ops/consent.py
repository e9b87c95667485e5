"""`python3 -m ops consent`: a partner admin's one-time consent, stored as the refresh token.

1. settings and the app's ID and secret (Key Vault, or a flag / a no-echo prompt);
2. a loopback listener, then the sign-in URL (printed, and opened in a browser if any);
3. the redirect: only an answer carrying this command's `state` ends the wait (ops/loopback.py),
   and it must carry a code;
4. the code is redeemed with the PKCE verifier;
5. checks before storing: `amr` holds `mfa`, and one Partner Center read succeeds;
6. the refresh token is stored as a new secret version, tagged with who and when;
7. the app's per-secret Key Vault roles are granted (ops/grant.py), now that the secret exists.

No token, secret or code is ever printed: only names, versions and check results.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import requests

from ops.authorization_code import (
    GDAP_READ_PERMISSION,
    Authority,
    SignedIn,
    Tokens,
    consent_scopes,
    redeem_code,
    sign_in_scopes,
    sign_in_url,
)
from ops.credentials import require_local
from ops.deps import Deps
from ops.errors import NoTerminal, OpsError
from ops.grant import add_argument as add_grant_argument
from ops.grant import grant_app_roles
from ops.loopback import DEFAULT_REDIRECT_URI, Callback, LoopbackListener
from ops.partner_center_read import CHECK_PATH, read_customers
from ops.pkce import Proof
from ops.settings import (
    SettingSource,
    application_id,
    flag_bool,
    secret_name,
    service_url,
    tenant_id,
)
from ops.token_claims import check_nonce, consenting_user, require_mfa, unverified_claims
from ops.vault import Vault

HELP = "partner admin consent (sign-in with MFA); stores the App+User refresh token"
DEFAULT_TIMEOUT_S = 300.0
# The content type the function gives the versions it writes back.
REFRESH_TOKEN_CONTENT_TYPE = "refresh-token"  # noqa: S105 - a label, not a secret
_OAUTH_ERROR_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz_")


@dataclass(frozen=True)
class ConsentSettings:
    tenant: str
    vault_url: str
    verify_challenge_resource: bool
    authority_host: str
    partner_center_base_url: str
    partner_center_resource: str
    # None: leave Graph's GDAP read out of the consent (--no-gdap-read).
    graph_base_url: str | None
    app_id_name: str
    app_secret_name: str
    refresh_token_name: str


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenant", help="partner tenant ID (default: PARTNER_TENANT_ID)")
    parser.add_argument("--vault-url", help="Key Vault URL (default: KEY_VAULT_URL)")
    parser.add_argument(
        "--app-id", help="the app's client ID (default: read from the vault's app-ID secret)"
    )
    parser.add_argument(
        "--prompt-app-secret",
        action="store_true",
        help="ask for the app secret (unseen) instead of reading it from the vault",
    )
    parser.add_argument(
        "--redirect-uri",
        default=DEFAULT_REDIRECT_URI,
        help=f"loopback redirect URI registered on the app (default: {DEFAULT_REDIRECT_URI})",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help=f"how long to wait for the sign-in (default: {DEFAULT_TIMEOUT_S:.0f})",
    )
    parser.add_argument("--no-browser", action="store_true", help="only print the sign-in URL")
    parser.add_argument("--authority-host", help="identity platform (default: AUTHORITY_HOST)")
    parser.add_argument(
        "--partner-center-base-url", help="Partner Center REST root (PARTNER_CENTER_BASE_URL)"
    )
    parser.add_argument(
        "--partner-center-resource", help="scope base of the token (PARTNER_CENTER_RESOURCE)"
    )
    parser.add_argument("--graph-base-url", help="Microsoft Graph root (GRAPH_BASE_URL)")
    parser.add_argument(
        "--no-gdap-read",
        action="store_true",
        help=f"leave Microsoft Graph's {GDAP_READ_PERMISSION} out of the consent (dry runs"
        " then answer gdap_not_checked)",
    )
    parser.add_argument("--app-id-name", help="secret name of the app ID (SECRET_NAME_APP_ID)")
    parser.add_argument(
        "--app-secret-name", help="secret name of the app secret (SECRET_NAME_APP_SECRET)"
    )
    parser.add_argument(
        "--refresh-token-name",
        help="secret name of the refresh token (SECRET_NAME_REFRESH_TOKEN)",
    )
    add_grant_argument(parser)


def resolve_settings(args: argparse.Namespace, source: SettingSource) -> ConsentSettings:
    def url(name: str, flag: str | None, flag_name: str) -> str:
        return service_url(name, source.require(name, flag, flag_name))

    def name(setting: str, flag: str | None, flag_name: str) -> str:
        return secret_name(setting, source.require(setting, flag, flag_name))

    return ConsentSettings(
        tenant=tenant_id(source.require("PARTNER_TENANT_ID", args.tenant, "--tenant")),
        vault_url=url("KEY_VAULT_URL", args.vault_url, "--vault-url"),
        verify_challenge_resource=flag_bool(
            "KEY_VAULT_VERIFY_CHALLENGE_RESOURCE",
            source.require("KEY_VAULT_VERIFY_CHALLENGE_RESOURCE", None, ""),
        ),
        authority_host=url("AUTHORITY_HOST", args.authority_host, "--authority-host"),
        partner_center_base_url=url(
            "PARTNER_CENTER_BASE_URL", args.partner_center_base_url, "--partner-center-base-url"
        ),
        partner_center_resource=url(
            "PARTNER_CENTER_RESOURCE", args.partner_center_resource, "--partner-center-resource"
        ),
        graph_base_url=None
        if args.no_gdap_read
        else url("GRAPH_BASE_URL", args.graph_base_url, "--graph-base-url"),
        app_id_name=name("SECRET_NAME_APP_ID", args.app_id_name, "--app-id-name"),
        app_secret_name=name("SECRET_NAME_APP_SECRET", args.app_secret_name, "--app-secret-name"),
        refresh_token_name=name(
            "SECRET_NAME_REFRESH_TOKEN", args.refresh_token_name, "--refresh-token-name"
        ),
    )


def run(args: argparse.Namespace, deps: Deps) -> int:
    if args.timeout <= 0:
        raise OpsError("--timeout must be a positive number of seconds.")
    source = SettingSource(deps.environ, deps.azd_environment)
    settings = resolve_settings(args, source)
    console = deps.console
    sign_in = deps.credential(settings.vault_url)
    if sign_in.local:
        require_local(_called_services(settings), f"the vault {settings.vault_url} is local")
    with (
        Vault(
            settings.vault_url,
            sign_in,
            verify_challenge_resource=settings.verify_challenge_resource,
        ) as vault,
        requests.Session() as session,
    ):
        client_id = _app_id(args, settings, vault)
        client_secret = _app_secret(args, settings, vault, deps)
        authority = Authority(settings.authority_host, settings.tenant)
        scopes = consent_scopes(settings.partner_center_resource)
        proof = deps.new_proof()
        signed_in = _sign_in(
            args,
            deps,
            authority=authority,
            client_id=client_id,
            scopes=sign_in_scopes(settings.partner_center_resource, settings.graph_base_url),
            proof=proof,
        )
        tokens = redeem_code(
            session,
            authority,
            client_id=client_id,
            client_secret=client_secret,
            signed_in=signed_in,
            scopes=scopes,
            proof=proof,
        )
        consented_by = _verify(tokens, proof.nonce, settings, session, deps)
        version = _store(vault, settings, tokens, consented_by, deps)
    console.say(f"stored {settings.refresh_token_name} version {version}")
    return grant_app_roles(args, deps, source, settings.vault_url)


def _called_services(settings: ConsentSettings) -> dict[str, str]:
    called = {
        "AUTHORITY_HOST": settings.authority_host,
        "PARTNER_CENTER_BASE_URL": settings.partner_center_base_url,
    }
    if settings.graph_base_url is not None:
        called["GRAPH_BASE_URL"] = settings.graph_base_url
    return called


def _sign_in(
    args: argparse.Namespace,
    deps: Deps,
    *,
    authority: Authority,
    client_id: str,
    scopes: list[str],
    proof: Proof,
) -> SignedIn:
    """The authorization code and the redirect URI it was sent to."""
    console = deps.console
    # Listening before the URL is shown: a busy port fails before anyone signs in.
    with LoopbackListener(args.redirect_uri, state=proof.state) as listener:
        url = sign_in_url(
            authority,
            client_id=client_id,
            redirect_uri=listener.redirect_uri,
            scopes=scopes,
            proof=proof,
        )
        console.say("Sign in as a partner admin (Admin Agents group), with MFA, at:")
        console.say(url)
        opened = not args.no_browser and deps.open_browser(url)
        console.say(
            "A browser window was opened for it."
            if opened
            else "Open it in a browser on this machine: the answer comes back to"
            f" {listener.redirect_uri}."
        )
        console.say(f"Waiting up to {args.timeout:g} s for the sign-in ...")
        callback = listener.wait(args.timeout)
    code = _code_from(callback, listener.ignored, listener.redirect_uri, args.timeout)
    return SignedIn(code, listener.redirect_uri)


def _app_id(args: argparse.Namespace, settings: ConsentSettings, vault: Vault) -> str:
    if args.app_id:
        return application_id(args.app_id)
    stored = vault.read(settings.app_id_name)
    if stored is None:
        raise OpsError(
            f"The vault has no secret '{settings.app_id_name}': store the app ID and secret"
            " with `python3 -m ops secrets`, or pass --app-id."
        )
    return application_id(stored)


def _app_secret(
    args: argparse.Namespace, settings: ConsentSettings, vault: Vault, deps: Deps
) -> str:
    if args.prompt_app_secret:
        try:
            typed = deps.prompt_secret("App secret (not shown): ").strip()
        except NoTerminal:
            raise OpsError(
                "There is no terminal to ask for the app secret unseen: store it with"
                " `python3 -m ops secrets` and leave out --prompt-app-secret."
            ) from None
        if not typed:
            raise OpsError("The app secret typed is empty; nothing was stored.")
        return typed
    stored = vault.read(settings.app_secret_name)
    if stored is None:
        raise OpsError(
            f"The vault has no secret '{settings.app_secret_name}': store it with"
            " `python3 -m ops secrets`, or pass --prompt-app-secret."
        )
    return stored


def _code_from(callback: Callback | None, ignored: int, redirect_uri: str, timeout: float) -> str:
    if callback is None:
        others = (
            f" ({ignored} answer{'s' if ignored != 1 else ''} with another state"
            f" {'were' if ignored != 1 else 'was'} ignored: an earlier sign-in's, or forged)"
            if ignored
            else ""
        )
        raise OpsError(
            f"No sign-in answer reached {redirect_uri} within {timeout:g} s{others}; nothing"
            " was stored. Run the command again (and --timeout for more time)."
        )
    if callback.error is not None:
        raise OpsError(_sign_in_refusal(callback))
    if callback.code is None:
        raise OpsError("The sign-in answer carried no authorization code; nothing was stored.")
    return callback.code


def _sign_in_refusal(callback: Callback) -> str:
    error = callback.error or ""
    shown = error if error and set(error) <= _OAUTH_ERROR_CHARS else "an error"
    aadsts = ""
    description = callback.error_description
    if description.startswith("AADSTS"):
        digits = description[6:].split(":", 1)[0]
        aadsts = f" (AADSTS{digits})" if digits.isdigit() else ""
    if error == "access_denied":
        return (
            f"The sign-in ended without consent: access_denied{aadsts}. The admin declined"
            " or may not consent for this app; nothing was stored. An admin who may not grant"
            f" Microsoft Graph's {GDAP_READ_PERMISSION} can run the command with"
            " --no-gdap-read (dry runs then do not check GDAP)."
        )
    return f"The sign-in failed: {shown}{aadsts}; nothing was stored."


def _verify(
    tokens: Tokens, nonce: str, settings: ConsentSettings, session: requests.Session, deps: Deps
) -> str:
    console = deps.console
    access_claims = unverified_claims(tokens.access_token)
    id_claims = unverified_claims(tokens.id_token)
    check_nonce(id_claims, nonce)
    methods = require_mfa(access_claims)
    consented_by = consenting_user(id_claims, access_claims)
    console.say(f"signed in as {consented_by}")
    console.say(f"check MFA: passed (amr: {', '.join(methods)})")
    result = read_customers(session, settings.partner_center_base_url, tokens.access_token)
    if not result.ok:
        raise OpsError(
            f"check Partner Center read (GET {CHECK_PATH}): failed, {result.detail}; nothing"
            " was stored."
        )
    console.say(f"check Partner Center read (GET {CHECK_PATH}): passed, {result.detail}")
    return consented_by


def _store(
    vault: Vault, settings: ConsentSettings, tokens: Tokens, consented_by: str, deps: Deps
) -> str:
    tags = {
        "consentedBy": consented_by,
        "consentedAt": deps.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "storedBy": "python3 -m ops consent",
    }
    while True:
        try:
            return vault.write(
                settings.refresh_token_name,
                tokens.refresh_token,
                content_type=REFRESH_TOKEN_CONTENT_TYPE,
                tags=tags,
            )
        except OpsError as failure:
            deps.console.warn(str(failure))
            # The token exists only in this process: offer to retry once access is fixed,
            # rather than send the admin through the sign-in again.
            if not deps.confirm(
                "The new refresh token is held in memory only. Retry storing it now"
                " (fix the vault access first)?"
            ):
                raise OpsError(
                    f"The new refresh token was NOT stored and is discarded now (it is never"
                    f" printed). The vault's '{settings.refresh_token_name}' is unchanged, so"
                    " the function keeps using its current token. Fix the vault access"
                    " (above), then run `python3 -m ops consent` again."
                ) from None
