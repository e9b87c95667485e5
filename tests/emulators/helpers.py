"""Small client-side helpers shared by the emulator tests."""

from __future__ import annotations

import uuid
from typing import Any

import requests

from dev.emulators import EmulatorStack
from dev.emulators import samples as s

PC_RESOURCE = "https://api.partnercenter.microsoft.com"


def exchange_v1(stack: EmulatorStack, refresh_token: str = s.SAMPLE_REFRESH_TOKEN) -> Any:
    return requests.post(
        f"{stack.identity.url}/{stack.identity.partner_tenant_id}/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": s.SAMPLE_APP_ID,
            "client_secret": s.SAMPLE_APP_SECRET,
            "refresh_token": refresh_token,
            "resource": PC_RESOURCE,
        },
        timeout=5,
    )


def partner_token(stack: EmulatorStack) -> str:
    return str(stack.ledger.issue(PC_RESOURCE, 600))


def pc_headers(token: str, **overrides: str) -> dict[str, str]:
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json",
        "Content-Type": "application/json",
        "MS-RequestId": str(uuid.uuid4()),
        "MS-CorrelationId": str(uuid.uuid4()),
    }
    headers.update(overrides)
    return headers


def reset_body(password: str, force_change: bool = True) -> dict[str, Any]:
    return {
        "passwordProfile": {"password": password, "forceChangePassword": force_change},
        "attributes": {"objectType": "CustomerUser"},
    }


def reset_url(stack: EmulatorStack, customer_id: str, user_id: str) -> str:
    return f"{stack.partner_center.url}/v1/customers/{customer_id}/users/{user_id}/resetpassword"
