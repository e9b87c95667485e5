"""Whose tokens a command sends: the operator's own sign-in, or, in local mode, the
managed-identity emulator of `python3 dev/run.py`.

Local mode is chosen by the service's URL alone and cannot happen by accident: a service
on a loopback address (127.0.0.1, ::1, localhost) is an emulator, never Azure, so the
command must not hand it the operator's real tokens (an Azure CLI token sent to whatever
listens on a local port), and takes instead the managed-identity credential the function
uses locally. That credential is built only once the process environment names an
App Service identity endpoint that is itself on loopback (IDENTITY_ENDPOINT and
IDENTITY_HEADER, as dev/run.py prints them): without one, azure-identity would try the
instance metadata service at 169.254.169.254. A service anywhere else gets the operator's
sign-in, never a managed identity.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from azure.core.credentials import TokenCredential
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

from ops.errors import OpsError
from shared.settings import LOOPBACK_HOSTS

RUN_HINT = "start `python3 dev/run.py` and paste the exports it prints into this shell"


@dataclass(frozen=True)
class SignIn:
    credential: TokenCredential
    # True: the emulators' managed identity (local mode); False: the operator's sign-in.
    local: bool


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname
    return host is not None and host.lower() in LOOPBACK_HOSTS


def operator_credential() -> TokenCredential:
    """The operator's developer sign-in (`az login`, `azd auth login`, environment or
    workload identity). Managed identity is left out: on a workstation it would only time
    out, and it is the function's identity, not an operator's."""
    return DefaultAzureCredential(exclude_managed_identity_credential=True)


def sign_in_for(service_url: str, environ: Mapping[str, str] = os.environ) -> SignIn:
    """The sign-in for a command that calls `service_url`.

    `environ` is the process environment outside tests: azure-identity reads the identity
    endpoint from there itself, so what is checked here is what it will use.
    """
    if not is_loopback(service_url):
        return SignIn(operator_credential(), local=False)
    return SignIn(local_credential(service_url, environ), local=True)


def local_credential(service_url: str, environ: Mapping[str, str]) -> TokenCredential:
    endpoint = (environ.get("IDENTITY_ENDPOINT") or "").strip()
    if not endpoint or not (environ.get("IDENTITY_HEADER") or "").strip():
        raise OpsError(
            f"Local mode ({service_url} is on this machine): the emulators' managed identity is"
            f" needed, but IDENTITY_ENDPOINT and IDENTITY_HEADER are not both set; {RUN_HINT}."
        )
    if not is_loopback(endpoint):
        raise OpsError(
            f"Local mode ({service_url} is on this machine): IDENTITY_ENDPOINT must be on"
            f" 127.0.0.1, ::1 or localhost too, so that no Azure token is asked for; {RUN_HINT}."
        )
    if environ.get("IDENTITY_SERVER_THUMBPRINT"):
        raise OpsError(
            "Local mode: IDENTITY_SERVER_THUMBPRINT is set, which selects Service Fabric's"
            f" identity instead of the emulator's; unset it and {RUN_HINT}."
        )
    if service_url.lower().startswith("https:"):
        bundle = (environ.get("REQUESTS_CA_BUNDLE") or "").strip()
        if not bundle or not Path(bundle).is_file():
            raise OpsError(
                f"Local mode: {service_url} speaks HTTPS with the emulators' test certificate"
                f" authority, and REQUESTS_CA_BUNDLE does not name its file; {RUN_HINT}."
            )
    client_id = (environ.get("AZURE_CLIENT_ID") or "").strip() or None
    # A redirect would carry the identity header elsewhere.
    return ManagedIdentityCredential(client_id=client_id, permit_redirects=False)


def require_local(names_and_urls: Mapping[str, str], reason: str) -> None:
    """In local mode every service a command calls must be an emulator too."""
    elsewhere = [name for name, url in names_and_urls.items() if not is_loopback(url)]
    if elsewhere:
        raise OpsError(
            f"Local mode ({reason}): {', '.join(elsewhere)} must be on 127.0.0.1, ::1 or"
            f" localhost as well, so that nothing reaches Azure; {RUN_HINT}."
        )
