"""One harmless Partner Center read, to prove the new access token works before storing.

`GET /v1/customers?size=1` reads at most one customer and changes nothing; it needs
the same App+User token and agent role as the reset does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import requests

CHECK_PATH = "/v1/customers?size=1"
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 30.0
_HINTS = {
    401: "Partner Center did not accept the token (is the app registered in Partner Center"
    " App management?)",
    403: "the user is not allowed to read customers (Admin Agents group membership needed)",
}


@dataclass(frozen=True)
class ReadResult:
    status: int | None
    detail: str

    @property
    def ok(self) -> bool:
        return self.status == 200


def read_customers(session: requests.Session, base_url: str, access_token: str) -> ReadResult:
    try:
        answer = session.get(
            f"{base_url}{CHECK_PATH}",
            headers={
                "Authorization": f"Bearer {access_token}",
                "Accept": "application/json",
                "MS-Contract-Version": "v1",
                "MS-RequestId": str(uuid.uuid4()),
                "MS-CorrelationId": str(uuid.uuid4()),
            },
            timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        return ReadResult(None, f"Partner Center is unreachable ({type(exc).__name__})")
    if answer.status_code == 200:
        return ReadResult(200, "HTTP 200")
    parts = [f"HTTP {answer.status_code}"]
    code = _partner_center_code(answer)
    if code is not None:
        parts.append(f"Partner Center code {code}")
    if answer.status_code in _HINTS:
        parts.append(_HINTS[answer.status_code])
    return ReadResult(answer.status_code, ", ".join(parts))


def _partner_center_code(answer: requests.Response) -> str | None:
    # Only the numeric code is quoted: the description is upstream free text.
    try:
        body: Any = answer.json()
    except ValueError:
        return None
    code = body.get("code") if isinstance(body, dict) else None
    text = str(code) if isinstance(code, int | str) else ""
    return text if text.isdigit() and len(text) <= 9 else None
