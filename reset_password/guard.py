"""The protected-account guard's policy: which directory roles make a user untouchable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from shared.directory_roles import role_names, role_title


@dataclass(frozen=True)
class GuardPolicy:
    enabled: bool
    protected_role_ids: frozenset[str]

    @cached_property
    def _ids_by_name(self) -> Mapping[str, str]:
        return {name: rid for rid in self.protected_role_ids for name in role_names(rid)}

    def protected_roles_held(self, roles: list[dict[str, Any]]) -> list[str]:
        """Titles (from our table) of the protected roles among `roles`.

        A directory role's object ID differs per tenant, so a role counts by its template
        ID or by any name it is known by; the name is matched, never shown. Partner
        Center documents `id` (the template ID in its example) and `name`; Microsoft
        Graph's directoryRole calls them `roleTemplateId` and `displayName`. Every one of
        them is looked at: a protected role missed for its field's name fails open.
        """
        held: set[str] = set()
        for role in roles:
            for field in ("id", "roleTemplateId"):
                role_id = role.get(field)
                if isinstance(role_id, str) and role_id.strip().lower() in self.protected_role_ids:
                    held.add(role_id.strip().lower())
            for field in ("name", "displayName"):
                name = role.get(field)
                if isinstance(name, str) and name.strip().lower() in self._ids_by_name:
                    held.add(self._ids_by_name[name.strip().lower()])
        return sorted(role_title(role_id) for role_id in held)
