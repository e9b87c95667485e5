"""Fixed sample data, so docs and manual runs can name the same IDs every time."""

from __future__ import annotations

from dev.emulators.identity import IdentityEmulator
from dev.emulators.partner_center import PartnerCenterEmulator
from dev.emulators.pc_models import GLOBAL_ADMINISTRATOR_ROLE_ID

SECRET_NAME_APP_ID = "partner-center-app-id"
SECRET_NAME_APP_SECRET = "partner-center-app-secret"
SECRET_NAME_REFRESH_TOKEN = "partner-center-refresh-token"

SAMPLE_APP_ID = "b7c1d2e3-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
SAMPLE_APP_SECRET = "emu~app-secret.0123456789abcdefghijklmnop"
SAMPLE_REFRESH_TOKEN = "emu-rt-initial-consent-0123456789abcdefghijklmnopqrstuvwxyz"

SAMPLE_CUSTOMER_ID = "c0a1b2c3-d4e5-4f60-8a71-b2c3d4e5f601"
SAMPLE_CUSTOMER_DOMAIN = "contoso.onmicrosoft.com"
SAMPLE_USER_ID = "a11ce000-0000-4000-8000-00000000ada1"
SAMPLE_USER_UPN = "ada@contoso.onmicrosoft.com"
SAMPLE_ADMIN_USER_ID = "6a7ce000-0000-4000-8000-0000000006a1"
SAMPLE_SYNCED_USER_ID = "5c7ced00-0000-4000-8000-0000000005c1"
SAMPLE_FEDERATED_USER_ID = "fede7a7e-0000-4000-8000-00000000fed1"

NO_GDAP_CUSTOMER_ID = "fab71ca0-0000-4000-8000-00000000fab1"
NO_GDAP_CUSTOMER_DOMAIN = "fabrikam.com"
NO_GDAP_USER_ID = "fab0e000-0000-4000-8000-00000000fab2"

SAMPLE_SYNC_TIME = "2026-11-20T08:15:00Z"

# Verified domains (OpenID discovery). Contoso's custom domain is in the same tenant as
# its onmicrosoft.com domain; katherine@contoso.com (SAMPLE_FEDERATED_USER_ID) is on it too.
SAMPLE_CUSTOM_DOMAIN = "contoso.com"
SAMPLE_CUSTOM_DOMAIN_USER_ID = "3a46a000-0000-4000-8000-0000000003a1"
SAMPLE_CUSTOM_DOMAIN_USER_UPN = "margaret.hamilton@contoso.com"
# A B2B guest in Contoso whose home is Fabrikam: its UPN names Contoso after #EXT#@.
SAMPLE_GUEST_USER_ID = "90e57000-0000-4000-8000-000000000901"
SAMPLE_GUEST_USER_UPN = "guest_fabrikam.com#EXT#@contoso.onmicrosoft.com"
NO_GDAP_CUSTOMER_INITIAL_DOMAIN = "fabrikam.onmicrosoft.com"
# A real tenant (discovery answers) that is not one of the partner's customers.
NON_CUSTOMER_DOMAIN = "notacustomer.com"
NON_CUSTOMER_INITIAL_DOMAIN = "notacustomer.onmicrosoft.com"
NON_CUSTOMER_TENANT_ID = "0dd7e9a1-0000-4000-8000-0000000000dd"
# The partner's own tenant has a verified domain too; it is no customer of itself.
PARTNER_DOMAIN = "partnerdemo.onmicrosoft.com"


def add_sample_domains(identity: IdentityEmulator) -> None:
    identity.add_domain(SAMPLE_CUSTOMER_DOMAIN, SAMPLE_CUSTOMER_ID)
    identity.add_domain(SAMPLE_CUSTOM_DOMAIN, SAMPLE_CUSTOMER_ID)
    identity.add_domain(NO_GDAP_CUSTOMER_DOMAIN, NO_GDAP_CUSTOMER_ID)
    identity.add_domain(NO_GDAP_CUSTOMER_INITIAL_DOMAIN, NO_GDAP_CUSTOMER_ID)
    identity.add_domain(NON_CUSTOMER_DOMAIN, NON_CUSTOMER_TENANT_ID)
    identity.add_domain(NON_CUSTOMER_INITIAL_DOMAIN, NON_CUSTOMER_TENANT_ID)
    identity.add_domain(PARTNER_DOMAIN, identity.partner_tenant_id)


def add_sample_customers(partner_center: PartnerCenterEmulator) -> None:
    partner_center.add_customer(SAMPLE_CUSTOMER_ID, "Contoso", SAMPLE_CUSTOMER_DOMAIN)
    partner_center.add_user(
        SAMPLE_CUSTOMER_ID,
        id=SAMPLE_USER_ID,
        user_principal_name=SAMPLE_USER_UPN,
        first_name="Ada",
        last_name="Lovelace",
    )
    partner_center.add_user(
        SAMPLE_CUSTOMER_ID,
        id=SAMPLE_ADMIN_USER_ID,
        user_principal_name="grace@contoso.onmicrosoft.com",
        first_name="Grace",
        last_name="Hopper",
        roles=[("Global Administrator", GLOBAL_ADMINISTRATOR_ROLE_ID)],
    )
    partner_center.add_user(
        SAMPLE_CUSTOMER_ID,
        id=SAMPLE_SYNCED_USER_ID,
        user_principal_name="alan@contoso.onmicrosoft.com",
        first_name="Alan",
        last_name="Turing",
        last_directory_sync_time=SAMPLE_SYNC_TIME,
    )
    partner_center.add_user(
        SAMPLE_CUSTOMER_ID,
        id=SAMPLE_FEDERATED_USER_ID,
        user_principal_name="katherine@contoso.com",
        first_name="Katherine",
        last_name="Johnson",
        user_domain_type="federated",
    )
    partner_center.add_user(
        SAMPLE_CUSTOMER_ID,
        id=SAMPLE_CUSTOM_DOMAIN_USER_ID,
        user_principal_name=SAMPLE_CUSTOM_DOMAIN_USER_UPN,
        first_name="Margaret",
        last_name="Hamilton",
    )
    partner_center.add_user(
        SAMPLE_CUSTOMER_ID,
        id=SAMPLE_GUEST_USER_ID,
        user_principal_name=SAMPLE_GUEST_USER_UPN,
        first_name="Guest",
        last_name="Fabrikam",
        display_name="Guest (Fabrikam)",
        user_type="Guest",
    )
    partner_center.add_customer(
        NO_GDAP_CUSTOMER_ID, "Fabrikam", NO_GDAP_CUSTOMER_DOMAIN, gdap=False
    )
    partner_center.add_user(
        NO_GDAP_CUSTOMER_ID,
        id=NO_GDAP_USER_ID,
        user_principal_name="hedy@fabrikam.com",
        first_name="Hedy",
        last_name="Lamarr",
    )
