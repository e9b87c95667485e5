"""Entra ID role template IDs that the protected-account guard refuses by default.

These are the roles Microsoft marks as privileged, plus the administrator roles that can
change credentials or policies of others. A reset of an account holding one of them is a
takeover path, so the guard refuses it unless an operator narrows the list through
PROTECTED_ROLE_IDS.
"""

from __future__ import annotations

from types import MappingProxyType

PRIVILEGED_ROLES: MappingProxyType[str, str] = MappingProxyType(
    {
        "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
        "e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator",
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13": "Privileged Authentication Administrator",
        "194ae4cb-b126-40b2-bd5b-6091b380977d": "Security Administrator",
        "c4e39bd9-1100-46d3-8c65-fb160da0071f": "Authentication Administrator",
        "0526716b-113d-4c15-b2c8-68e3c22b9f80": "Authentication Policy Administrator",
        "fe930be7-5e62-47db-91af-98c3a49a38b1": "User Administrator",
        "729827e3-9c14-49f7-bb1b-9608f156bbb8": "Helpdesk Administrator",
        "966707d0-3269-4727-9be2-8c3a10f19b9d": "Password Administrator",
        "29232cdf-9323-42fd-ade2-1d097af3e4de": "Exchange Administrator",
        "f28a1f50-f6e7-4571-818b-6a12f2af6b6c": "SharePoint Administrator",
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": "Application Administrator",
        "158c047a-c907-4556-b7ef-446551a6b5f7": "Cloud Application Administrator",
        "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9": "Conditional Access Administrator",
        "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2": "Hybrid Identity Administrator",
        "be2f45a1-457d-42af-a067-6ec1fa63bc45": "External Identity Provider Administrator",
        "8329153b-31d0-4727-b945-745eb3bc5f31": "Domain Name Administrator",
        "3a2c62db-5318-420d-8d74-23affee5d9d5": "Intune Administrator",
        "7698a772-787b-4ac8-901f-60d6b08affd2": "Cloud Device Administrator",
        "b0f54661-2d74-4c50-afa3-1ec803f12efe": "Billing Administrator",
        "9360feb5-f418-4baa-8175-e2a00bac4301": "Directory Writers",
        "e00e864a-17c5-4a4b-9c06-f5b95a8d5bd8": "Partner Tier2 Support",
        "4ba39ca4-527c-499a-b93d-d9b492c50246": "Partner Tier1 Support",
        "5f2222b1-57c3-48ba-8ad5-d4759f1fde6f": "Security Operator",
        "f2ef992c-3afb-46b9-b7cf-a126ee74c451": "Global Reader",
    }
)

GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
PRIVILEGED_ROLE_ADMINISTRATOR = "e8611ab8-c189-46e8-94e1-60213ab1f814"
PRIVILEGED_AUTHENTICATION_ADMINISTRATOR = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"
# Protected whenever the guard is on, whatever PROTECTED_ROLE_IDS says: each of them can
# take over the whole tenant.
ALWAYS_PROTECTED_ROLES = frozenset(
    {GLOBAL_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR, PRIVILEGED_AUTHENTICATION_ADMINISTRATOR}
)

# Names a directory role has carried (current and legacy), matched case-insensitively:
# a directory role's object ID differs per tenant, so an answer may not carry the
# template ID. Used for matching only; answers and logs show the names above.
_LEGACY_NAMES: dict[str, tuple[str, ...]] = {
    GLOBAL_ADMINISTRATOR: ("Company Administrator",),
    "fe930be7-5e62-47db-91af-98c3a49a38b1": ("User Account Administrator",),
    "29232cdf-9323-42fd-ade2-1d097af3e4de": ("Exchange Service Administrator",),
    "f28a1f50-f6e7-4571-818b-6a12f2af6b6c": ("SharePoint Service Administrator",),
    "3a2c62db-5318-420d-8d74-23affee5d9d5": ("Intune Service Administrator",),
}


def role_names(template_id: str) -> tuple[str, ...]:
    """Every name the role with this template ID is known by, lower-cased."""
    names = [PRIVILEGED_ROLES.get(template_id, ""), *_LEGACY_NAMES.get(template_id, ())]
    return tuple(name.lower() for name in names if name)


def role_title(template_id: str) -> str:
    """The name shown to people for a protected role: from this table, never upstream."""
    return PRIVILEGED_ROLES.get(template_id, f"role {template_id}")
