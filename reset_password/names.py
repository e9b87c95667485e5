"""Syntax of the route's `{customer}` and `{user}` values: an ID or a name.

Only the shape is checked here; whether the name exists is the lookups' business. The
rules are deliberately ASCII-only: Partner Center stores domains and UPNs in their ASCII
(punycode) form, and a Unicode look-alike (Cyrillic U+0430 for 'a') must never be folded
into a real name by some normalisation step and resolve to someone else's tenant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GUID_SYNTAX = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
LABEL_SYNTAX = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# RFC 5322 atext, which is what Entra accepts in a UPN prefix (guest UPNs need '#').
ATEXT_CHARACTERS = r"A-Za-z0-9!#$%&'*+\-/=?^_`{|}~"
MAX_LOCAL_PART_LENGTH = 113
MAX_DOMAIN_LENGTH = 253
PERCENT_ESCAPE_SYNTAX = r"%[0-9A-Fa-f]{2}"

GUID = re.compile(rf"^{GUID_SYNTAX}$")
_LABEL = re.compile(rf"^{LABEL_SYNTAX}$")
_LOCAL_PART = re.compile(rf"^[{ATEXT_CHARACTERS}.]{{1,{MAX_LOCAL_PART_LENGTH}}}$")
# The host has already decoded the route once; an escape left over means the caller
# encoded twice, and guessing what they meant could pick the wrong user.
_PERCENT_ESCAPE = re.compile(PERCENT_ESCAPE_SYNTAX)


@dataclass(frozen=True)
class CustomerRef:
    """What the caller named: a tenant ID or a domain, both lower-cased."""

    tenant_id: str | None = None
    domain: str | None = None

    def __post_init__(self) -> None:
        if (self.tenant_id is None) == (self.domain is None):
            raise ValueError("a customer reference is either a tenant ID or a domain")

    @property
    def requested(self) -> str:
        return self.tenant_id or self.domain or ""


@dataclass(frozen=True)
class UserRef:
    """What the caller named: an object ID or a userPrincipalName, both lower-cased."""

    object_id: str | None = None
    upn: str | None = None

    def __post_init__(self) -> None:
        if (self.object_id is None) == (self.upn is None):
            raise ValueError("a user reference is either an object ID or a UPN")

    @property
    def requested(self) -> str:
        return self.object_id or self.upn or ""


def is_domain_name(value: str) -> bool:
    if not value.isascii() or len(value) > MAX_DOMAIN_LENGTH:
        return False
    labels = value.split(".")
    # A trailing dot (the DNS root) yields an empty last label and is refused with it.
    return len(labels) >= 2 and all(_LABEL.fullmatch(label) for label in labels)


def is_user_principal_name(value: str) -> bool:
    if not value.isascii() or _PERCENT_ESCAPE.search(value):
        return False
    local, at, domain = value.partition("@")
    if not at or "@" in domain:
        return False
    # Entra refuses a UPN prefix that starts or ends with a dot or holds two in a row.
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return False
    return bool(_LOCAL_PART.fullmatch(local)) and is_domain_name(domain)


def is_guest_upn(upn: str) -> bool:
    """A B2B guest's UPN in the tenant that invited it: `ada_fabrikam.com#EXT#@contoso.com`."""
    return "#ext#" in upn.lower()


def parse_customer(value: str | None) -> CustomerRef | None:
    """The reference, or None when the value is neither a GUID nor a domain name."""
    if value is None:
        return None
    if GUID.fullmatch(value):
        return CustomerRef(tenant_id=value.lower())
    if is_domain_name(value):
        return CustomerRef(domain=value.lower())
    return None


def parse_user(value: str | None) -> UserRef | None:
    """The reference, or None when the value is neither a GUID nor a UPN."""
    if value is None:
        return None
    if GUID.fullmatch(value):
        return UserRef(object_id=value.lower())
    if is_user_principal_name(value):
        return UserRef(upn=value.lower())
    return None
