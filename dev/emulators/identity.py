"""Microsoft identity platform emulator: refresh-token grants, OIDC discovery, JWKS."""

from __future__ import annotations

import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from dev.emulators import aadsts as aad
from dev.emulators.aadsts import AadstsError
from dev.emulators.authorize import AuthorizationCodes
from dev.emulators.base import EmulatorServer
from dev.emulators.ledger import TokenLedger
from dev.emulators.messages import RecordedRequest, Response, json_response
from dev.emulators.partner_center import PARTNER_CENTER_AUDIENCE
from dev.emulators.routing import Router
from dev.emulators.signing import SigningKey, encode_jwt

PARTNER_TENANT_ID = "8d2c1a4e-6f0b-4c3a-9e57-2b1f0c9d7a11"
CALLER_TENANT_ID = "5b7e9c2d-1a3f-4e8b-a6d0-c4f2e1b3a925"
CALLER_AUDIENCE = "api://partner-password-reset"
CALLER_APP_ID = "3f6a2b9c-8d1e-4f70-b5a2-9c0d1e2f3a4b"
CALLER_ROLE = "PasswordReset.Invoke"
# The Graph audience the emulator issues for until told the Graph emulator's URL.
GRAPH_AUDIENCE = "https://graph.microsoft.com"

_PC_DEFAULT_SCOPE = f"{PARTNER_CENTER_AUDIENCE}/.default"
_PC_USER_SCOPE = f"{PARTNER_CENTER_AUDIENCE}/user_impersonation"
_OIDC_SCOPES = frozenset({"offline_access", "openid", "profile"})
_TENANT = r"(?P<tenant>[^/]+)"
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_DNS_NAME = re.compile(r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", re.I)


class IdentityEmulator(EmulatorServer):
    """Plain HTTP by default; pass an SSL context when a client (MSAL) insists on https."""

    def __init__(self, ledger: TokenLedger) -> None:
        super().__init__()
        self.ledger = ledger
        self._state = threading.RLock()
        self._initial_key = SigningKey.generate()
        # Wiring, not state: the stack points this at Partner Center's customers, the
        # tenants where the partner's refresh token redeems for Graph (a GDAP stand-in).
        self.customer_tenants: Callable[[], Iterable[str]] = tuple
        self._restore_defaults()
        self._router = Router()
        # Sign-in and the code grant (authorize.py); first, as it shares the v2 token route.
        self.authorization = AuthorizationCodes(self)
        self._router.add("GET", f"/{_TENANT}/oauth2/v2.0/authorize", self.authorization.authorize)
        self._router.add(
            "POST", f"/{_TENANT}/oauth2/v2.0/token", self.authorization.token(self._token_v2)
        )
        self._router.add("POST", f"/{_TENANT}/oauth2/token", self._token_v1)
        self._router.add("POST", f"/{_TENANT}/oauth2/v2.0/token", self._token_v2)
        self._router.add(
            "GET", f"/{_TENANT}/v2.0/.well-known/openid-configuration", self._openid_config
        )
        self._router.add("GET", f"/{_TENANT}/discovery/v2.0/keys", self._jwks)
        self._router.add("GET", f"/{_TENANT}/discovery/keys", self._jwks)

    def _restore_defaults(self) -> None:
        with self._state:
            self.partner_tenant_id = PARTNER_TENANT_ID
            self.caller_tenant_id = CALLER_TENANT_ID
            self.caller_audience = CALLER_AUDIENCE
            self.access_token_lifetime: float = 3600
            self.revoke_used_refresh_tokens = False
            # The sign-in methods (`amr`) of the Partner Center access tokens the
            # refresh-token grant issues, as JWTs like the real ones; None: opaque tokens.
            self.refresh_grant_amr: list[str] | None = ["pwd", "mfa"]
            # Fields merged into every token answer: hostile or odd values for tests.
            self.token_answer_overrides: dict[str, Any] = {}
            self._apps: dict[str, str] = {}
            self._expired_secrets: set[str] = set()
            self._refresh_tokens: dict[str, str] = {}
            self._revoked: dict[str, int] = {}
            self._latest_refresh_token: str | None = None
            self._exchanges = 0
            self._jwks_fetches = 0
            self._current_key = self._initial_key
            self._published: dict[str, SigningKey] = {self._initial_key.kid: self._initial_key}
            self.graph_audience = GRAPH_AUDIENCE
            self._domains: dict[str, str] = {}
            self._graph_refusals: dict[str, int] = {}
            self._graph_exchanges: list[str] = []

    def reset(self) -> None:
        self._restore_defaults()
        self.authorization.reset()
        self.latency = 0.0

    # -- configuration ---------------------------------------------------------

    def register_app(self, client_id: str, client_secret: str) -> None:
        with self._state:
            self._apps[client_id] = client_secret
            self._expired_secrets.discard(client_id)

    def add_refresh_token(self, token: str, client_id: str) -> None:
        with self._state:
            self._refresh_tokens[token] = client_id
            self._revoked.pop(token, None)
            self._latest_refresh_token = token

    def revoke_refresh_tokens(self, aadsts: int = 50173) -> None:
        """Every refresh token known now fails with AADSTS `aadsts`; later ones work."""
        # Validated now so that a typo fails the test at its cause, not at the next exchange.
        aad.refresh_token_failure(aadsts, resource=PARTNER_CENTER_AUDIENCE)
        with self._state:
            for token in self._refresh_tokens:
                self._revoked[token] = aadsts

    def expire_client_secret(self, client_id: str | None = None) -> None:
        with self._state:
            self._expired_secrets.update([client_id] if client_id else self._apps)

    def add_domain(self, domain: str, tenant_id: str) -> None:
        """Make `domain` a verified domain of `tenant_id` (a domain is verified in one tenant)."""
        with self._state:
            self._domains[domain.lower()] = tenant_id

    def remove_domain(self, domain: str) -> None:
        with self._state:
            self._domains.pop(domain.lower(), None)

    def resolve_tenant(self, name: str) -> str | None:
        """The tenant ID that a path segment (tenant ID or verified domain) names, if any."""
        wanted = name.lower()
        with self._state:
            by_domain = self._domains.get(wanted)
            if by_domain is not None:
                return by_domain
            known = [self.partner_tenant_id, self.caller_tenant_id, *self._domains.values()]
        known.extend(self.customer_tenants())
        return next((tenant for tenant in known if tenant.lower() == wanted), None)

    def refuse_graph_exchange(self, tenant_id: str, aadsts: int = 65001) -> None:
        """Graph tokens for `tenant_id` fail with AADSTS `aadsts` (65001: the app's consent
        is missing there; 700016: app not in that directory; 50020; or any refresh-token
        failure such as 50076 MFA or 53003 Conditional Access)."""
        # Validated now so that a typo fails the test at its cause.
        aad.tenant_refusal(aadsts, tenant=tenant_id, home_tenant="", client_id="", resource="")
        with self._state:
            self._graph_refusals[tenant_id.lower()] = aadsts

    @property
    def graph_exchanges(self) -> list[str]:
        """The tenant of every Graph token issued, in order."""
        with self._state:
            return list(self._graph_exchanges)

    @property
    def exchanges(self) -> int:
        with self._state:
            return self._exchanges

    @property
    def current_refresh_tokens(self) -> list[str]:
        with self._state:
            return [t for t in self._refresh_tokens if t not in self._revoked]

    @property
    def latest_refresh_token(self) -> str | None:
        with self._state:
            return self._latest_refresh_token

    # -- signing keys and caller tokens ----------------------------------------

    @property
    def jwks_fetches(self) -> int:
        with self._state:
            return self._jwks_fetches

    @property
    def current_kid(self) -> str:
        with self._state:
            return self._current_key.kid

    @property
    def public_key_pem(self) -> bytes:
        with self._state:
            return self._current_key.public_key_pem

    def rotate_signing_key(self, *, retire_old: bool = False) -> str:
        key = SigningKey.generate()
        with self._state:
            if retire_old:
                self._published.clear()
            self._published[key.kid] = key
            self._current_key = key
        return key.kid

    def unpublished_key(self) -> SigningKey:
        """A well-formed key the JWKS never lists: tokens signed with it must be refused."""
        return SigningKey.generate()

    def caller_issuer(self, tenant: str | None = None) -> str:
        return f"{self.url}/{tenant or self.caller_tenant_id}/v2.0"

    def mint_caller_token(
        self,
        claims: dict[str, Any] | None = None,
        *,
        kid: str | None = None,
        algorithm: str = "RS256",
        key: SigningKey | bytes | str | None = None,
        headers: dict[str, Any] | None = None,
    ) -> str:
        """A caller access token; defaults fill only the claims not given, None removes one."""
        now = int(time.time())
        defaults: dict[str, Any] = {
            "aud": self.caller_audience,
            "iss": self.caller_issuer(),
            "tid": self.caller_tenant_id,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "azp": CALLER_APP_ID,
            "azpacr": "1",
            "roles": [CALLER_ROLE],
            "sub": CALLER_APP_ID,
            "oid": CALLER_APP_ID,
            "ver": "2.0",
            "uti": secrets.token_urlsafe(16),
        }
        merged = {**defaults, **(claims or {})}
        payload = {name: value for name, value in merged.items() if value is not None}
        with self._state:
            signer = key if key is not None else self._current_key
        default_kid = signer.kid if isinstance(signer, SigningKey) else self.current_kid
        header: dict[str, Any] = {"kid": kid or default_kid, "x5t": kid or default_kid}
        header.update(headers or {})
        return encode_jwt(payload, key=signer, algorithm=algorithm, headers=header)

    # -- HTTP ------------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Response:
        response = self._router.dispatch(request)
        if response is None:
            return json_response(404, {"error": "not_found", "error_description": request.path})
        return response

    def knows_tenant(self, tenant: str) -> bool:
        """The partner's or the callers' tenant (by ID, any letter case)."""
        known = {self.partner_tenant_id.lower(), self.caller_tenant_id.lower()}
        return tenant.lower() in known

    def _fail(self, failure: AadstsError, request: RecordedRequest) -> Response:
        correlation = request.header("client-request-id") or None
        return aad.error_response(failure, base_url=self.url, correlation_id=correlation)

    def _token_v1(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        form = request.form()
        resource = form.get("resource", "")
        if not resource:
            return self._fail(aad.missing_parameter("resource"), request)
        if resource.rstrip("/") != PARTNER_CENTER_AUDIENCE:
            return self._fail(_resource_not_found(resource, match["tenant"]), request)
        return self._exchange(request, match["tenant"], form, version=1)

    def _token_v2(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        form = request.form()
        scopes = form.get("scope", "").split()
        if not scopes:
            return self._fail(aad.missing_parameter("scope"), request)
        resource_scopes = [s for s in scopes if s not in _OIDC_SCOPES]
        if resource_scopes == [f"{self.graph_audience.rstrip('/')}/.default"]:
            return self._exchange_graph(request, match["tenant"], form)
        if resource_scopes not in ([_PC_DEFAULT_SCOPE], [_PC_USER_SCOPE]):
            failure = AadstsError(
                "invalid_scope",
                70011,
                f"The provided value for the input parameter 'scope' is not valid. The scope"
                f" {' '.join(scopes)} is not valid.",
            )
            return self._fail(failure, request)
        return self._exchange(request, match["tenant"], form, version=2)

    def _exchange(
        self, request: RecordedRequest, tenant: str, form: dict[str, str], *, version: int
    ) -> Response:
        if not self.knows_tenant(tenant):
            return self._fail(aad.tenant_not_found(tenant), request)
        return self._grant(request, form, version=version)

    def _exchange_graph(
        self, request: RecordedRequest, name: str, form: dict[str, str]
    ) -> Response:
        tenant = self.resolve_tenant(name)
        if tenant is None:
            return self._fail(aad.tenant_not_found(name), request)
        return self._grant(request, form, version=2, graph_tenant=tenant)

    def _graph_refusal(self, tenant: str, client_id: str) -> AadstsError | None:
        with self._state:
            code = self._graph_refusals.get(tenant.lower())
            partner = self.partner_tenant_id
        if code is None:
            usable = [partner, *self.customer_tenants()]
            if all(t.lower() != tenant.lower() for t in usable):
                code = 50020
        if code is None:
            return None
        return aad.tenant_refusal(
            code,
            tenant=tenant,
            home_tenant=partner,
            client_id=client_id,
            resource=self.graph_audience,
        )

    def _grant(
        self,
        request: RecordedRequest,
        form: dict[str, str],
        *,
        version: int,
        graph_tenant: str | None = None,
    ) -> Response:
        for name in ("grant_type", "client_id"):
            if not form.get(name):
                return self._fail(aad.missing_parameter(name), request)
        client_failure = self.check_client(form["client_id"], form.get("client_secret", ""))
        if client_failure is not None:
            return self._fail(client_failure, request)
        if form["grant_type"] != "refresh_token":
            failure = AadstsError(
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{form['grant_type']}'.",
            )
            return self._fail(failure, request)
        return self._redeem(request, form, version=version, graph_tenant=graph_tenant)

    def _redeem(
        self,
        request: RecordedRequest,
        form: dict[str, str],
        *,
        version: int,
        graph_tenant: str | None = None,
    ) -> Response:
        refresh_token = form.get("refresh_token", "")
        if not refresh_token:
            return self._fail(aad.missing_parameter("refresh_token"), request)
        with self._state:
            grant_failure = self._check_refresh_token(refresh_token, form["client_id"])
            if grant_failure is None and graph_tenant is not None:
                grant_failure = self._graph_refusal(graph_tenant, form["client_id"])
            if grant_failure is not None:
                return self._fail(grant_failure, request)
            new_refresh_token = "emu-rt-" + secrets.token_urlsafe(48)
            self._refresh_tokens[new_refresh_token] = form["client_id"]
            self._latest_refresh_token = new_refresh_token
            if self.revoke_used_refresh_tokens:
                self._refresh_tokens.pop(refresh_token, None)
            self._exchanges += 1
            if graph_tenant is not None:
                self._graph_exchanges.append(graph_tenant)
            lifetime = self.access_token_lifetime
            audience = self.graph_audience if graph_tenant is not None else PARTNER_CENTER_AUDIENCE
            amr = None if graph_tenant is not None else self.refresh_grant_amr
        if amr is None:
            access_token = self.ledger.issue(audience, lifetime, tenant=graph_tenant)
        else:
            access_token = self._partner_center_jwt(form["client_id"], amr, lifetime)
        headers = {
            "Cache-Control": "no-store, no-cache",
            "Pragma": "no-cache",
            "x-ms-request-id": str(uuid.uuid4()),
        }
        if request.header("client-request-id"):
            headers["client-request-id"] = request.header("client-request-id")
        # Like the real service, report a second less than the token really lives.
        expires_in = max(int(lifetime) - 1, 0)
        body: dict[str, Any]
        if version == 1:
            now = int(time.time())
            body = {
                "token_type": "Bearer",
                "scope": "user_impersonation",
                "expires_in": str(expires_in),
                "ext_expires_in": str(expires_in),
                "expires_on": str(now + expires_in),
                "not_before": str(now),
                "resource": PARTNER_CENTER_AUDIENCE,
                "access_token": access_token,
                "refresh_token": new_refresh_token,
            }
        else:
            body = {
                "token_type": "Bearer",
                "scope": _PC_USER_SCOPE if graph_tenant is None else _graph_scope(audience),
                "expires_in": expires_in,
                "ext_expires_in": expires_in,
                "access_token": access_token,
                "refresh_token": new_refresh_token,
            }
        with self._state:
            body.update(self.token_answer_overrides)
        return json_response(200, body, headers)

    def _partner_center_jwt(self, client_id: str, amr: list[str], lifetime: float) -> str:
        """A Partner Center access token shaped like the real (v1) one, carrying `amr`."""
        now = int(time.time())
        tenant = self.partner_tenant_id
        token = self.mint_caller_token(
            {
                "aud": PARTNER_CENTER_AUDIENCE,
                "iss": f"https://sts.windows.net/{tenant}/",
                "tid": tenant,
                "iat": now,
                "nbf": now,
                "exp": now + int(lifetime),
                "amr": list(amr),
                "scp": "user_impersonation",
                "appid": client_id,
                "appidacr": "1",
                "ver": "1.0",
                "azp": None,
                "azpacr": None,
                "roles": None,
            }
        )
        self.ledger.record(token, PARTNER_CENTER_AUDIENCE, lifetime)
        return token

    def check_client(self, client_id: str, client_secret: str) -> AadstsError | None:
        """Why the app's credentials are refused (AADSTS700016 for an unknown app), or None."""
        with self._state:
            expected = self._apps.get(client_id)
            expired = client_id in self._expired_secrets
        if expected is None:
            return AadstsError(
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory"
                f" '{self.partner_tenant_id}'.",
            )
        if not client_secret:
            return AadstsError(
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion'"
                " or 'client_secret'.",
                status=401,
            )
        if expired:
            return AadstsError(
                "invalid_client",
                7000222,
                f"The provided client secret keys for app '{client_id}' are expired. Visit the"
                " Azure portal to create new keys for your app.",
                status=401,
            )
        if not secrets.compare_digest(expected, client_secret):
            return AadstsError(
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is"
                f" the client secret value, not the client secret ID, for a secret added to app"
                f" '{client_id}'.",
                status=401,
            )
        return None

    def _check_refresh_token(self, token: str, client_id: str) -> AadstsError | None:
        revoked = self._revoked.get(token)
        if revoked is not None:
            return aad.refresh_token_failure(revoked, resource=PARTNER_CENTER_AUDIENCE)
        owner = self._refresh_tokens.get(token)
        if owner is None:
            return aad.refresh_token_failure(700082, resource=PARTNER_CENTER_AUDIENCE)
        if owner != client_id:
            return AadstsError("invalid_grant", 70000, "Provided grant is invalid or malformed.")
        return None

    def _openid_config(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        # Like the real service, a verified domain answers its tenant's document: every
        # URL in it, and the issuer, names the tenant ID, never the domain.
        tenant = self.resolve_tenant(match["tenant"])
        if tenant is None:
            return self._fail(_unknown_tenant(match["tenant"]), request)
        base = f"{self.url}/{tenant}"
        return json_response(
            200,
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{base}/v2.0",
                "request_uri_parameter_supported": False,
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "claims_supported": [
                    "sub",
                    "iss",
                    "aud",
                    "exp",
                    "iat",
                    "nbf",
                    "tid",
                    "oid",
                    "azp",
                    "roles",
                ],
                "tenant_region_scope": "EU",
                "cloud_instance_name": "microsoftonline.com",
                "cloud_graph_host_name": "graph.windows.net",
                "msgraph_host": "graph.microsoft.com",
                "rbac_url": "https://pas.windows.net",
                "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
                "kerberos_endpoint": f"{base}/kerberos",
            },
        )

    def _jwks(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        tenant = match["tenant"]
        if tenant.lower() != "common" and self.resolve_tenant(tenant) is None:
            return self._fail(aad.tenant_not_found(tenant), request)
        with self._state:
            self._jwks_fetches += 1
            keys = list(self._published.values())
        issuer = f"{self.url}/{tenant}/v2.0"
        return json_response(200, {"keys": [k.jwk(issuer) for k in keys]})


def _resource_not_found(resource: str, tenant: str) -> AadstsError:
    return AadstsError(
        "invalid_resource",
        500011,
        f"The resource principal named {resource} was not found in the tenant named {tenant}.",
    )


def _unknown_tenant(name: str) -> AadstsError:
    if _GUID.fullmatch(name) or _DNS_NAME.fullmatch(name):
        return aad.tenant_not_found(name, error="invalid_tenant")
    return aad.invalid_tenant_name(name)


def _graph_scope(audience: str) -> str:
    base = audience.rstrip("/")
    permissions = ("User.RevokeSessions.All", "DelegatedAdminRelationship.Read.All", "User.Read")
    return " ".join(f"{base}/{permission}" for permission in permissions)
