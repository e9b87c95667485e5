"""The partner's GDAP relationships, as Microsoft Graph lists them in the partner tenant.

`GET /v1.0/tenantRelationships/delegatedAdminRelationships` (with `$filter` on
`customer/tenantId`) and `GET .../delegatedAdminRelationships/{id}/accessAssignments`,
both paged with `@odata.nextLink`. By default every Partner Center customer with GDAP on
has one active relationship whose one active access assignment grants User
Administrator, so the emulators agree: a customer Partner Center refuses a reset for
(`gdap=False`) has none. A test sets a customer's relationships itself for any other case.
"""

from __future__ import annotations

import re
import secrets
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

USER_ADMINISTRATOR = "fe930be7-5e62-47db-91af-98c3a49a38b1"
PRIVILEGED_AUTHENTICATION_ADMINISTRATOR = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"
# Roles that cannot reset a password: they make "only other roles" cases.
DIRECTORY_READERS = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
HELPDESK_ADMINISTRATOR = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
DEFAULT_PAGE_SIZE = 100
# Graph's $filter on the customer, the one form the function sends.
_CUSTOMER_FILTER = re.compile(r"customer/tenantId\s+eq\s+'([0-9a-fA-F-]{36})'", re.IGNORECASE)

# (tenant ID, display name) of every customer whose GDAP is on.
Customers = Callable[[], Iterable[tuple[str, str]]]


def _relationship_id() -> str:
    # Graph's relationship IDs are two GUIDs joined by a hyphen.
    return f"{uuid.uuid4()}-{uuid.uuid4()}"


@dataclass(frozen=True)
class AccessAssignment:
    role_ids: tuple[str, ...]
    status: str = "active"
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    container_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def to_json(self) -> dict[str, Any]:
        return {
            "@odata.type": "#microsoft.graph.delegatedAdminAccessAssignment",
            "id": self.id,
            "status": self.status,
            "createdDateTime": "2026-01-05T09:00:00Z",
            "lastModifiedDateTime": "2026-01-05T09:05:00Z",
            "accessContainer": {
                "accessContainerId": self.container_id,
                "accessContainerType": "securityGroup",
            },
            "accessDetails": {"unifiedRoles": [{"roleDefinitionId": r} for r in self.role_ids]},
        }


@dataclass(frozen=True)
class Relationship:
    customer_tenant_id: str
    assignments: tuple[AccessAssignment, ...]
    status: str = "active"
    customer_name: str = "Customer"
    id: str = field(default_factory=_relationship_id)

    @property
    def role_ids(self) -> list[str]:
        """The roles the customer approved: every role an assignment names."""
        return sorted({role for a in self.assignments for role in a.role_ids})

    def to_json(self) -> dict[str, Any]:
        return {
            "@odata.type": "#microsoft.graph.delegatedAdminRelationship",
            "id": self.id,
            "displayName": f"Password reset ({self.customer_name})",
            "duration": "P730D",
            "status": self.status,
            "autoExtendDuration": "P180D",
            "createdDateTime": "2026-01-05T08:00:00Z",
            "lastModifiedDateTime": "2026-01-05T08:30:00Z",
            "activatedDateTime": "2026-01-05T08:30:00Z",
            "endDateTime": "2028-01-05T08:30:00Z",
            "customer": {"tenantId": self.customer_tenant_id, "displayName": self.customer_name},
            "accessDetails": {"unifiedRoles": [{"roleDefinitionId": r} for r in self.role_ids]},
        }


def user_administrator_relationship(tenant_id: str, name: str = "Customer") -> Relationship:
    """What a partner set up for password resets: one active assignment of User
    Administrator in one active relationship."""
    return Relationship(tenant_id, (AccessAssignment((USER_ADMINISTRATOR,)),), customer_name=name)


@dataclass(frozen=True)
class _Cursor:
    key: str
    offset: int


class GdapRelationships:
    """The relationships Graph lists, and the skip tokens of the pages it handed out."""

    def __init__(self, customers: Customers = tuple) -> None:
        self.customers = customers
        self.page_size = DEFAULT_PAGE_SIZE
        self._lock = threading.Lock()
        self._set: dict[str, list[Relationship]] = {}
        self._defaults: dict[str, Relationship] = {}
        self._cursors: dict[str, _Cursor] = {}

    def reset(self) -> None:
        with self._lock:
            self._set.clear()
            self._defaults.clear()
            self._cursors.clear()
        self.page_size = DEFAULT_PAGE_SIZE

    def set(self, tenant_id: str, relationships: Sequence[Relationship]) -> None:
        """The customer's relationships from now on, in place of the default ([]: none)."""
        with self._lock:
            self._set[tenant_id.lower()] = list(relationships)

    def all(self) -> list[Relationship]:
        found: list[Relationship] = []
        listed = list(self.customers())
        with self._lock:
            for tenant_id, name in listed:
                key = tenant_id.lower()
                if key in self._set:
                    continue
                # One stable relationship per customer: its ID must work for the next read.
                if key not in self._defaults:
                    self._defaults[key] = user_administrator_relationship(tenant_id, name)
                found.append(self._defaults[key])
            for relationships in self._set.values():
                found.extend(relationships)
        return found

    def matching(self, filter_text: str | None) -> list[Relationship] | None:
        """The relationships `$filter` selects; None for a filter Graph would refuse."""
        relationships = self.all()
        if filter_text is None:
            return relationships
        wanted = _CUSTOMER_FILTER.fullmatch(filter_text.strip())
        if wanted is None:
            return None
        tenant = wanted.group(1).lower()
        return [r for r in relationships if r.customer_tenant_id.lower() == tenant]

    def find(self, relationship_id: str) -> Relationship | None:
        return next((r for r in self.all() if r.id.lower() == relationship_id.lower()), None)

    def page(
        self, items: Sequence[dict[str, Any]], key: str, skip_token: str | None
    ) -> tuple[list[dict[str, Any]], str | None] | None:
        """One page of `items` and the skip token of the next (None: the last page);
        None for a skip token that was not handed out for this listing."""
        offset = 0
        if skip_token is not None:
            with self._lock:
                cursor = self._cursors.get(skip_token)
            if cursor is None or cursor.key != key:
                return None
            offset = cursor.offset
        end = offset + self.page_size
        next_token = None
        if end < len(items):
            next_token = secrets.token_urlsafe(18)
            with self._lock:
                self._cursors[next_token] = _Cursor(key, end)
        return list(items[offset:end]), next_token
