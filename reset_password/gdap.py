"""The dry run's GDAP check: may the partner reset passwords in this customer at all?

Partner Center refuses a reset (403) when the partner holds no GDAP role that may reset
passwords in the customer, which a dry run could not see. So a dry run asks Microsoft
Graph in the partner tenant for the partner's relationships with the customer and their
access assignments: an active relationship with an active assignment granting User
Administrator or Privileged Authentication Administrator is the access a reset needs.

Fail closed both ways: only a readable answer proves the access missing (403), and only
a readable answer proves it there. Anything else (Graph refusing the read, failing, an
unreadable page, the deadline) is reported as not checked, never as either verdict.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reset_password.graph import TenantTokens, tenant_bearer
from shared.errors import DomainError, PartnerCredentialsInvalid, PartnerForbidden
from shared.json_body import is_json_media_type, json_body
from shared.upstream import Request, Upstream, UpstreamFailed

logger = logging.getLogger(__name__)

READ_PERMISSION = "DelegatedAdminRelationship.Read.All"
# The built-in roles' template IDs: the same in every tenant.
USER_ADMINISTRATOR = uuid.UUID("fe930be7-5e62-47db-91af-98c3a49a38b1")
PRIVILEGED_AUTHENTICATION_ADMINISTRATOR = uuid.UUID("7be44c8a-adaf-4e2a-84d6-ab2649e08a13")
RESET_ROLES = frozenset({USER_ADMINISTRATOR, PRIVILEGED_AUTHENTICATION_ADMINISTRATOR})
# Graph's own word; "Active", "activating" or anything else is not active.
ACTIVE = "active"
# A partner has a handful of relationships per customer; a listing longer than this is
# not one we can trust to end.
MAX_PAGES = 50
# What a relationship ID may be before it goes into a path (two GUIDs joined by a hyphen).
_PATH_SAFE_ID = re.compile(r"[A-Za-z0-9-]{1,128}")

NO_RESET_ROLE = (
    "Dry run: Microsoft Graph lists no active GDAP relationship with this customer that has "
    "an active access assignment granting User Administrator or Privileged Authentication "
    "Administrator, so Partner Center would refuse the reset. Set up such a relationship "
    "(a User Administrator cannot reset administrators) and assign the role to the security "
    "group of the partner user behind the stored refresh token."
)
_AFTER = "A real reset may still be refused with partner_forbidden."


class GdapNotChecked(Exception):
    """The partner's GDAP access could not be read; `detail` says why, naming no value."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class _Strict(BaseModel):
    # Extra fields are Graph's business; the ones read must have exactly their type.
    model_config = ConfigDict(extra="ignore", strict=True, populate_by_name=True)


class _Role(_Strict):
    role_definition_id: str = Field(alias="roleDefinitionId")


class _AccessDetails(_Strict):
    unified_roles: list[_Role] = Field(alias="unifiedRoles")


class _Customer(_Strict):
    tenant_id: str = Field(alias="tenantId")


class _Relationship(_Strict):
    id: str
    status: str
    customer: _Customer


class _Assignment(_Strict):
    status: str
    access_details: _AccessDetails | None = Field(None, alias="accessDetails")


class _Page(_Strict):
    value: list[dict[str, Any]]
    next_link: str | None = Field(None, alias="@odata.nextLink")


_Item = TypeVar("_Item", _Relationship, _Assignment)


class GdapCheck:
    def __init__(
        self, *, upstream: Upstream, base_url: str, partner_tenant_id: str, tokens: TenantTokens
    ) -> None:
        self._upstream = upstream
        self._base_url = base_url
        self._relationships_url = f"{base_url}/v1.0/tenantRelationships/delegatedAdminRelationships"
        self._scope = f"{base_url}/.default"
        self._partner = partner_tenant_id
        self._tokens = tokens

    def require_reset_role(self, customer_id: str) -> None:
        """Return when the partner holds a role that may reset passwords in the customer;
        raise PartnerForbidden when Graph shows it does not, GdapNotChecked when Graph's
        answer could not be had or read."""
        customer = _guid(customer_id)
        if customer is None:  # resolved names are GUIDs; anything else is not ours to judge
            raise _not_checked("the customer's tenant ID is not a GUID")
        query = {"$filter": f"customer/tenantId eq '{customer}'"}
        for relationship in self._items(self._relationships_url, query, _Relationship):
            if relationship.status != ACTIVE or _guid(relationship.customer.tenant_id) != customer:
                continue
            if not _PATH_SAFE_ID.fullmatch(relationship.id):
                raise _unreadable("a relationship ID that cannot be part of a URL")
            url = f"{self._relationships_url}/{relationship.id}/accessAssignments"
            for assignment in self._items(url, None, _Assignment):
                if assignment.status == ACTIVE and _grants_reset_role(assignment):
                    return
        raise PartnerForbidden(NO_RESET_ROLE)

    def _items(self, url: str, query: dict[str, str] | None, model: type[_Item]) -> Iterator[_Item]:
        """Every item of a listing, page after page (`@odata.nextLink`, on Graph only)."""
        next_url: str | None = url
        for _ in range(MAX_PAGES):
            if next_url is None:
                return
            page = self._page(next_url, query)
            query = None  # a next link carries its own query
            try:
                items = [model.model_validate(item) for item in page.value]
            except ValidationError:
                raise _unreadable("a listing it answered that could not be read") from None
            yield from items
            next_url = page.next_link
            if next_url is not None and not self._on_graph(next_url):
                raise _unreadable("a next-page link away from Microsoft Graph, never followed")
        if next_url is not None:
            raise _unreadable(f"a listing longer than {MAX_PAGES} pages")

    def _on_graph(self, url: str) -> bool:
        """A next link goes back to the same Graph root: the token is sent nowhere else."""
        base, link = urlsplit(self._base_url), urlsplit(url)
        root = f"{base.path.rstrip('/')}/v1.0/tenantRelationships/"
        return (link.scheme, link.netloc.lower()) == (
            base.scheme,
            base.netloc.lower(),
        ) and link.path.startswith(root)

    def _page(self, url: str, query: dict[str, str] | None) -> _Page:
        request = Request(
            "GET",
            url,
            headers={"Accept": "application/json"},
            params=query,
            bearer=tenant_bearer(self._tokens, self._partner, self._scope),
            label="Microsoft Graph GDAP relationships",
        )
        try:
            return self._upstream.call(request, _judge)
        except UpstreamFailed as failed:
            raise _not_checked(failed.reason) from None
        except DomainError as error:  # only the token source raises one
            raise _token_refused(error) from None


def _judge(response: requests.Response) -> _Page:
    """A final answer (retried statuses never get here): a readable page, or why not."""
    status = response.status_code
    if status == 200:
        if not is_json_media_type(response.headers.get("Content-Type")):
            raise _unreadable("an answer that is not JSON")
        try:
            return _Page.model_validate(json_body(response))
        except (ValueError, ValidationError):
            raise _unreadable("a listing it answered that could not be read") from None
    if status in (401, 403):
        raise GdapNotChecked(
            f"Dry run: the partner's GDAP access to this customer was not checked: Microsoft "
            f"Graph refused to list the partner's GDAP relationships (HTTP {status}). The "
            f"consent behind the stored refresh token needs the Microsoft Graph delegated "
            f"permission {READ_PERMISSION} (python3 -m ops consent asks for it). {_AFTER}"
        )
    raise _not_checked(f"Microsoft Graph answered HTTP {status}")


def _grants_reset_role(assignment: _Assignment) -> bool:
    if assignment.access_details is None:
        raise _unreadable("an active access assignment without its roles")
    roles = {_guid(role.role_definition_id) for role in assignment.access_details.unified_roles}
    return not RESET_ROLES.isdisjoint(roles)


def _guid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _not_checked(reason: str) -> GdapNotChecked:
    return GdapNotChecked(
        f"Dry run: the partner's GDAP access to this customer was not checked ({reason}). " + _AFTER
    )


def _unreadable(what: str) -> GdapNotChecked:
    return _not_checked(f"Microsoft Graph answered with {what}")


def _token_refused(error: DomainError) -> GdapNotChecked:
    """The Graph token for the partner tenant was refused (the AADSTS number says why) or
    the identity platform was out of reach."""
    if not isinstance(error, PartnerCredentialsInvalid):
        return _not_checked("the identity platform gave no Microsoft Graph token in time")
    code = f"AADSTS{error.aadsts}" if error.aadsts is not None else "no AADSTS code"
    return GdapNotChecked(
        f"Dry run: the partner's GDAP access to this customer was not checked: the identity "
        f"platform refused a Microsoft Graph token in the partner tenant ({code}). The consent "
        f"behind the stored refresh token needs the Microsoft Graph delegated permission "
        f"{READ_PERMISSION} (python3 -m ops consent asks for it). {_AFTER}"
    )
