"""The guard, one module: after one read of the target (its roles read beside it) a
guest, a user synchronised from on-premises or signing in through a federated domain,
and a holder of a protected role are refused; a guest named by its UPN is refused unread."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from reset_password.guard import GuardPolicy, TargetGuard, refuse_guest_by_name
from reset_password.names import UserRef
from reset_password.partner_center import CallContext, PartnerCenterClient
from shared.context import Deadline, request_scope
from shared.directory_roles import ALWAYS_PROTECTED_ROLES, GLOBAL_ADMINISTRATOR
from shared.errors import ProtectedUser, UserIsGuest, UserNotCloudManaged, UserNotFound

CUSTOMER_ID = "0b1a2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
USER_ID = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
UPN = "ada@contoso.com"
MEMBER = {"id": USER_ID, "userPrincipalName": UPN, "userType": "Member"}


class OneUser(PartnerCenterClient):
    """Partner Center holding one user and its roles; counts the reads."""

    def __init__(self, user: dict[str, Any], roles: list[dict[str, Any]] | None = None) -> None:
        self.user = user
        self.roles = roles or []
        self.reads: list[str] = []

    def get_user(self, customer_id: str, user_id: str, *, context: CallContext) -> dict[str, Any]:
        self.reads.append("user")
        return self.user

    def get_user_roles(
        self, customer_id: str, user_id: str, *, context: CallContext
    ) -> list[dict[str, Any]]:
        self.reads.append("roles")
        return self.roles


@pytest.fixture
def reads() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool


def check(
    upstream: OneUser, reads: ThreadPoolExecutor, *, enabled: bool = True, upn: str | None = None
) -> None:
    guard = TargetGuard(upstream, GuardPolicy(enabled, ALWAYS_PROTECTED_ROLES), reads)
    with request_scope(uuid.uuid4(), Deadline(5)):
        guard.refuse_untouchable(guard.read(CUSTOMER_ID, USER_ID, expected_upn=upn))


def test_a_member_holding_no_protected_role_passes_after_both_reads(
    reads: ThreadPoolExecutor,
) -> None:
    upstream = OneUser(MEMBER, [{"id": "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"}])
    check(upstream, reads)
    assert sorted(upstream.reads) == ["roles", "user"]


@pytest.mark.parametrize(
    "role", [{"id": GLOBAL_ADMINISTRATOR}, {"displayName": "Global Administrator"}]
)
def test_a_holder_of_a_protected_role_is_refused(
    reads: ThreadPoolExecutor, role: dict[str, Any]
) -> None:
    with pytest.raises(ProtectedUser, match="Global Administrator"):
        check(OneUser(MEMBER, [role]), reads)


@pytest.mark.parametrize(
    "marker",
    [
        {"lastDirectorySyncTime": "2026-01-01T00:00:00Z"},
        {"onPremisesSyncEnabled": True},
        {"onPremisesImmutableId": "aGVsbG8="},
        {"immutableId": "aGVsbG8="},
    ],
)
def test_a_user_synchronised_from_on_premises_is_refused(
    reads: ThreadPoolExecutor, marker: dict[str, Any]
) -> None:
    with pytest.raises(UserNotCloudManaged, match="on-premises"):
        check(OneUser({**MEMBER, **marker}), reads)


def test_a_user_of_a_federated_domain_is_refused(reads: ThreadPoolExecutor) -> None:
    with pytest.raises(UserNotCloudManaged, match="federated"):
        check(OneUser({**MEMBER, "userDomainType": "Federated"}), reads)


@pytest.mark.parametrize(
    "user",
    [
        {**MEMBER, "userType": "Guest"},
        {**MEMBER, "userType": "Partner"},
        {**MEMBER, "userPrincipalName": "ada_fabrikam.com#EXT#@contoso.com"},
    ],
)
@pytest.mark.parametrize("enabled", [True, False])
def test_a_guest_is_refused_guard_on_or_off(
    reads: ThreadPoolExecutor, user: dict[str, Any], enabled: bool
) -> None:
    with pytest.raises(UserIsGuest):
        check(OneUser(user), reads, enabled=enabled)


def test_with_the_guard_off_only_the_guest_refusals_remain(reads: ThreadPoolExecutor) -> None:
    synced_admin = OneUser(
        {**MEMBER, "onPremisesSyncEnabled": True}, [{"id": GLOBAL_ADMINISTRATOR}]
    )
    check(synced_admin, reads, enabled=False)
    assert synced_admin.reads == ["user"]


def test_a_name_that_moved_to_another_user_is_user_not_found(reads: ThreadPoolExecutor) -> None:
    with pytest.raises(UserNotFound):
        check(OneUser({**MEMBER, "userPrincipalName": "grace@contoso.com"}), reads, upn=UPN)


def test_only_a_user_named_by_upn_is_read_with_the_guard_off(reads: ThreadPoolExecutor) -> None:
    guard = TargetGuard(OneUser(MEMBER), GuardPolicy(False, ALWAYS_PROTECTED_ROLES), reads)
    assert guard.reads_target(UserRef(upn=UPN))
    assert not guard.reads_target(UserRef(object_id=USER_ID))


def test_a_guest_named_by_its_upn_is_refused_unread() -> None:
    with pytest.raises(UserIsGuest):
        refuse_guest_by_name(UserRef(upn="ada_fabrikam.com#ext#@contoso.com"))
    refuse_guest_by_name(UserRef(upn=UPN))
