"""Partner Center's customers and users, and how the REST API renders them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

GLOBAL_ADMINISTRATOR_ROLE_ID = "62e90394-69f5-4237-9190-012177145e10"
USER_ADMINISTRATOR_ROLE_ID = "fe930be7-5e62-47db-91af-98c3a49a38b1"


@dataclass
class User:
    id: str
    user_principal_name: str
    first_name: str
    last_name: str
    display_name: str
    usage_location: str = "US"
    user_domain_type: str = "managed"
    last_directory_sync_time: str | None = None
    # Graph's Member or Guest; rendered only when set (Partner Center does not document it).
    user_type: str | None = None
    roles: list[tuple[str, str]] = field(default_factory=list)
    password: str | None = field(default=None, repr=False)
    force_change_password: bool = False


@dataclass
class Customer:
    id: str
    company_name: str
    domain: str
    gdap: bool = True
    users: dict[str, User] = field(default_factory=dict)
    commerce_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass(frozen=True)
class AppliedReset:
    """A password change that took effect; deliberately without the password."""

    customer_id: str
    user_id: str
    request_id: str
    correlation_id: str
    force_change_password: bool


def user_json(customer: Customer, user: User, *, echo_password: str | None) -> dict[str, Any]:
    """The CustomerUser resource; the reset answer echoes the new password like the real API."""
    body: dict[str, Any] = {
        "usageLocation": user.usage_location,
        "id": user.id,
        "userPrincipalName": user.user_principal_name,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "displayName": user.display_name,
    }
    if echo_password is not None:
        body["passwordProfile"] = {
            "forceChangePassword": user.force_change_password,
            "password": echo_password,
        }
    body.update(
        {
            "lastDirectorySyncTime": user.last_directory_sync_time,
            "userDomainType": user.user_domain_type,
            **({"userType": user.user_type} if user.user_type is not None else {}),
            "state": "active",
            "softDeletionTime": None,
            "links": {
                "self": {
                    "uri": f"/customers/{customer.id}/users/{user.id}",
                    "method": "GET",
                    "headers": [],
                }
            },
            "attributes": {"objectType": "CustomerUser"},
        }
    )
    return body


def customer_json(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.id,
        "commerceId": customer.commerce_id,
        "companyProfile": {
            "tenantId": customer.id,
            "domain": customer.domain,
            "companyName": customer.company_name,
            "links": {
                "self": {
                    "uri": f"/customers/{customer.id}/profiles/company",
                    "method": "GET",
                    "headers": [],
                }
            },
            "attributes": {"objectType": "CustomerCompanyProfile"},
        },
        "relationshipToPartner": "reseller",
        "allowDelegatedAccess": customer.gdap,
        "links": {"self": {"uri": f"/customers/{customer.id}", "method": "GET", "headers": []}},
        "attributes": {"objectType": "Customer"},
    }


def role_json(name: str, role_id: str) -> dict[str, Any]:
    return {"name": name, "id": role_id, "attributes": {"objectType": "DirectoryRole"}}


def error_json(code: int, description: str) -> dict[str, Any]:
    return {"code": code, "description": description, "data": [], "source": "PartnerFD"}
