"""Identity emulator: OpenID discovery by verified domain or tenant ID (contract 1b)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import requests

from dev.emulators import EmulatorStack
from dev.emulators import samples as s

ISSUER_FORM = re.compile(
    r"https?://127\.0\.0\.1:\d+/[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}/v2\.0", re.I
)


def _discover(stack: EmulatorStack, name: str) -> Any:
    return requests.get(
        f"{stack.identity.url}/{name}/v2.0/.well-known/openid-configuration", timeout=5
    )


@pytest.mark.parametrize(
    ("domain", "tenant_id"),
    [
        (s.SAMPLE_CUSTOMER_DOMAIN, s.SAMPLE_CUSTOMER_ID),
        (s.SAMPLE_CUSTOM_DOMAIN, s.SAMPLE_CUSTOMER_ID),
        (s.NO_GDAP_CUSTOMER_DOMAIN, s.NO_GDAP_CUSTOMER_ID),
        (s.NO_GDAP_CUSTOMER_INITIAL_DOMAIN, s.NO_GDAP_CUSTOMER_ID),
        (s.NON_CUSTOMER_DOMAIN, s.NON_CUSTOMER_TENANT_ID),
        (s.NON_CUSTOMER_INITIAL_DOMAIN, s.NON_CUSTOMER_TENANT_ID),
    ],
)
def test_a_seeded_domain_names_its_tenant_in_the_issuer(
    emulators: EmulatorStack, domain: str, tenant_id: str
) -> None:
    answer = _discover(emulators, domain)

    assert answer.status_code == 200
    issuer = answer.json()["issuer"]
    assert issuer == f"{emulators.identity.url}/{tenant_id}/v2.0"
    assert ISSUER_FORM.fullmatch(issuer)


def test_the_partners_own_domain_names_the_partner_tenant(emulators: EmulatorStack) -> None:
    issuer = _discover(emulators, s.PARTNER_DOMAIN).json()["issuer"]
    assert issuer == f"{emulators.identity.url}/{emulators.identity.partner_tenant_id}/v2.0"


def test_domains_are_matched_in_any_letter_case(emulators: EmulatorStack) -> None:
    issuer = _discover(emulators, "CONTOSO.com").json()["issuer"]
    assert issuer == f"{emulators.identity.url}/{s.SAMPLE_CUSTOMER_ID}/v2.0"


def test_the_tenant_id_answers_the_same_document_as_its_domain(
    emulators: EmulatorStack,
) -> None:
    by_domain = _discover(emulators, s.SAMPLE_CUSTOM_DOMAIN).json()
    by_id = _discover(emulators, s.SAMPLE_CUSTOMER_ID).json()
    assert by_id == by_domain


def test_every_endpoint_in_the_document_names_the_tenant_id(emulators: EmulatorStack) -> None:
    config = _discover(emulators, s.SAMPLE_CUSTOM_DOMAIN).json()
    tenant_base = f"{emulators.identity.url}/{s.SAMPLE_CUSTOMER_ID}"

    assert config["token_endpoint"] == f"{tenant_base}/oauth2/v2.0/token"
    assert config["authorization_endpoint"] == f"{tenant_base}/oauth2/v2.0/authorize"
    assert config["jwks_uri"] == f"{tenant_base}/discovery/v2.0/keys"
    assert config["tenant_region_scope"]
    assert config["cloud_instance_name"] == "microsoftonline.com"


def test_a_customer_tenants_jwks_uri_answers_keys(emulators: EmulatorStack) -> None:
    jwks_uri = _discover(emulators, s.SAMPLE_CUSTOM_DOMAIN).json()["jwks_uri"]
    answer = requests.get(jwks_uri, timeout=5)
    assert answer.status_code == 200
    assert answer.json()["keys"]


@pytest.mark.parametrize("name", ["nobody.example.com", "4b6d8f0a-2c4e-4a6b-8d0f-1a3c5e7a9b1d"])
def test_an_unknown_domain_or_tenant_id_is_aadsts90002(emulators: EmulatorStack, name: str) -> None:
    answer = _discover(emulators, name)

    assert answer.status_code == 400
    body = answer.json()
    assert body["error"] == "invalid_tenant"
    assert body["error_codes"] == [90002]
    assert body["error_description"].startswith(f"AADSTS90002: Tenant '{name}' not found.")
    assert {"timestamp", "trace_id", "correlation_id", "error_uri"} <= set(body)


def test_a_name_that_is_no_dns_name_is_aadsts900023(emulators: EmulatorStack) -> None:
    answer = _discover(emulators, "not_a_domain")
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"
    assert answer.json()["error_codes"] == [900023]


def test_an_added_domain_is_discoverable_until_the_next_reset(emulators: EmulatorStack) -> None:
    tenant_id = str(uuid.uuid4())
    emulators.identity.add_domain("northwind.example", tenant_id)
    assert _discover(emulators, "northwind.example").json()["issuer"].endswith(f"/{tenant_id}/v2.0")

    emulators.reset_state()

    assert _discover(emulators, "northwind.example").status_code == 400


def test_a_removed_domain_is_unknown(emulators: EmulatorStack) -> None:
    emulators.identity.remove_domain(s.SAMPLE_CUSTOM_DOMAIN)
    assert _discover(emulators, s.SAMPLE_CUSTOM_DOMAIN).status_code == 400


def test_a_customer_added_to_partner_center_is_discoverable_by_tenant_id(
    emulators: EmulatorStack,
) -> None:
    tenant_id = str(uuid.uuid4())
    emulators.partner_center.add_customer(tenant_id, "Tailspin", "tailspin.example")

    issuer = _discover(emulators, tenant_id).json()["issuer"]

    assert issuer == f"{emulators.identity.url}/{tenant_id}/v2.0"


def test_the_non_customer_tenant_is_unknown_to_partner_center(emulators: EmulatorStack) -> None:
    assert emulators.partner_center.find_customer(s.NON_CUSTOMER_TENANT_ID) is None
    assert emulators.identity.resolve_tenant(s.NON_CUSTOMER_DOMAIN) == s.NON_CUSTOMER_TENANT_ID


def test_sample_users_include_one_on_the_custom_domain_and_a_guest(
    emulators: EmulatorStack,
) -> None:
    pc = emulators.partner_center
    custom = pc.user(s.SAMPLE_CUSTOMER_ID, s.SAMPLE_CUSTOM_DOMAIN_USER_ID)
    guest = pc.user(s.SAMPLE_CUSTOMER_ID, s.SAMPLE_GUEST_USER_ID)
    assert custom.user_principal_name.endswith(f"@{s.SAMPLE_CUSTOM_DOMAIN}")
    assert guest.user_principal_name.endswith(f"#EXT#@{s.SAMPLE_CUSTOMER_DOMAIN}")
    assert pc.user(s.SAMPLE_CUSTOMER_ID, s.SAMPLE_USER_ID).user_principal_name == s.SAMPLE_USER_UPN
