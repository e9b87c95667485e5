"""Where a refresh-token grant is redeemed: the v1 fallback is Partner Center's alone."""

from __future__ import annotations

from credentials.grant import TokenEndpoint

AUTHORITY = "https://login.example"
TENANT = "c0a1b2c3-d4e5-4f60-8a71-b2c3d4e5f601"


def test_partner_centers_endpoint_falls_back_to_v1_once_and_for_good() -> None:
    endpoint = TokenEndpoint.partner_center(AUTHORITY, TENANT, "https://pc.example/")
    assert endpoint.target() == (
        f"{AUTHORITY}/{TENANT}/oauth2/v2.0/token",
        {"scope": "https://pc.example/.default"},
    )
    assert endpoint.fall_back()
    v1 = (f"{AUTHORITY}/{TENANT}/oauth2/token", {"resource": "https://pc.example"})
    assert endpoint.target() == v1
    assert not endpoint.fall_back()
    assert endpoint.target() == v1


def test_another_tenants_endpoint_is_v2_alone() -> None:
    endpoint = TokenEndpoint.tenant(AUTHORITY, TENANT, "https://graph.example/.default")
    assert not endpoint.fall_back()
    assert endpoint.target() == (
        f"{AUTHORITY}/{TENANT}/oauth2/v2.0/token",
        {"scope": "https://graph.example/.default"},
    )
