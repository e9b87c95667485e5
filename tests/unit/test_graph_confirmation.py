"""`sessionsRevoked` is true only when Microsoft Graph confirms: a 2xx JSON answer whose
`value` is the boolean true. Anything else a 2xx may carry (another value, no body, an
HTML page from an egress proxy, JSON under another media type) is not a confirmation."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from reset_password.graph import GraphClient, RevocationFailed
from shared.context import Deadline, request_scope
from shared.retry import RetryPolicy
from shared.upstream import Upstream

TENANT = "c0a1b2c3-d4e5-4f60-8a71-b2c3d4e5f601"
USER = "a11ce000-0000-4000-8000-00000000ada1"
GRAPH_JSON = "application/json;odata.metadata=minimal;odata.streaming=true;charset=utf-8"


class _Tokens:
    def token_for(self, tenant_id: str, scope: str) -> SecretStr:
        del tenant_id, scope
        return SecretStr("graph-token")

    def invalidate_for(self, tenant_id: str, scope: str, rejected: SecretStr) -> None:
        del tenant_id, scope, rejected


class _OneAnswer(requests.Session):
    """Answers every request with the same canned response, and counts the POSTs."""

    def __init__(self, status: int, body: bytes, content_type: str | None) -> None:
        super().__init__()
        self.status, self.body, self.content_type = status, body, content_type
        self.posts = 0

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        del args, kwargs
        if method == "POST":
            self.posts += 1
        response = requests.Response()
        response.status_code = self.status
        response._content = self.body
        response.url = str(url)
        if self.content_type is not None:
            response.headers["Content-Type"] = self.content_type
        return response


def revoke(status: int, body: bytes, content_type: str | None) -> tuple[bool, _OneAnswer]:
    """True when the client reports the sessions revoked."""
    session = _OneAnswer(status, body, content_type)
    client = GraphClient(
        upstream=Upstream(
            "Microsoft Graph", session, (3.0, 10.0), RetryPolicy(), sleep=lambda _seconds: None
        ),
        base_url="https://graph.example",
        tokens=_Tokens(),
    )
    with request_scope(uuid.uuid4(), Deadline(30)):
        try:
            client.revoke_sign_in_sessions(TENANT, USER)
        except RevocationFailed as failed:
            assert failed.code == "sessions_not_revoked"
            assert "did not confirm the revocation" in failed.detail
            return False, session
    return True, session


@pytest.mark.parametrize(
    "content_type", [GRAPH_JSON, "application/json", "Application/JSON ; charset=utf-8"]
)
def test_a_json_value_true_is_the_confirmation(content_type: str) -> None:
    assert revoke(200, b'{"@odata.context": "x", "value": true}', content_type)[0] is True


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (200, b'{"value": "false"}', GRAPH_JSON),
        (200, b'{"value": null}', GRAPH_JSON),
        (200, b'{"value": 0}', GRAPH_JSON),
        (200, b'{"value": 1}', GRAPH_JSON),
        (200, b'{"value": "true"}', GRAPH_JSON),
        (200, b"{}", GRAPH_JSON),
        (200, b'{"error": {"code": "x", "message": "y"}}', GRAPH_JSON),
        (200, b"true", GRAPH_JSON),
        (200, b'[{"value": true}]', GRAPH_JSON),
        (200, b"", None),
        (202, b"", None),
        (204, b"", None),
        (200, b"", GRAPH_JSON),
        (200, b"<html><body>Access policy</body></html>", "text/html"),
        (200, b'{"value": true}', "text/html"),
        (200, b'{"value": true}', "text/plain"),
        (200, b'{"value": true}', "application/problem+json"),
        (200, b'{"value": true}', None),
        (200, b"not json", "application/json"),
    ],
    ids=lambda value: value if isinstance(value, int) else repr(value)[:40],
)
def test_a_2xx_without_the_confirmation_is_not_revoked_and_not_retried(
    status: int, body: bytes, content_type: str | None
) -> None:
    revoked, session = revoke(status, body, content_type)

    assert revoked is False
    assert session.posts == 1


def _confirms(body: bytes, content_type: str | None) -> bool:
    """The oracle, written from the contract's sentence alone."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    try:
        value = json.loads(body)
    except ValueError:
        return False
    return media == "application/json" and isinstance(value, dict) and value.get("value") is True


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=5,
)
_bodies = st.one_of(
    st.dictionaries(st.sampled_from(["value", "error", "@odata.context"]), _json_values).map(
        lambda obj: json.dumps(obj).encode()
    ),
    _json_values.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=40),
)
_content_types = st.sampled_from(
    [GRAPH_JSON, "application/json", "text/html", "text/plain", "application/xml", "", None]
)


@given(status=st.integers(200, 299), body=_bodies, content_type=_content_types)
def test_any_2xx_that_is_not_a_json_true_is_sessions_not_revoked(
    status: int, body: bytes, content_type: str | None
) -> None:
    expected = _confirms(body, content_type)

    assert revoke(status, body, content_type)[0] is expected
