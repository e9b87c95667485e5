"""Least-privilege Key Vault: the postprovision hook grants the app identity Key Vault Secrets
User on the app ID and app secret and Key Vault Secrets Officer on the refresh token (User with
rotation off), each scoped to the one secret, once the secrets exist; never a role on the whole
vault, and it removes one left by earlier templates. The Azure CLI is a fake here: the tests
see every command the hook would run."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import pytest
from infra_bicep import HOOKS, load_hook
from test_infra_security import KEY_VAULT_SECRETS_OFFICER, KEY_VAULT_SECRETS_USER

hook = load_hook("postprovision")

SUBSCRIPTION = "00000000-0000-0000-0000-0000000000aa"
VAULT = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-prod"
    "/providers/Microsoft.KeyVault/vaults/kv-abcdefghijklm"
)
PRINCIPAL = "11111111-2222-3333-4444-555555555555"
DEPLOYER = "99999999-8888-7777-6666-555555555555"
APP_ID, APP_SECRET, REFRESH = (
    "partner-center-app-id",
    "partner-center-app-secret",
    "partner-center-refresh-token",
)
ENV = {
    "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION,
    "AZURE_KEY_VAULT_ID": VAULT,
    "AZURE_USER_ASSIGNED_IDENTITY_PRINCIPAL_ID": PRINCIPAL,
    "SECRET_NAME_APP_ID": APP_ID,
    "SECRET_NAME_APP_SECRET": APP_SECRET,
    "SECRET_NAME_REFRESH_TOKEN": REFRESH,
    "ROTATE_REFRESH_TOKEN": "true",
}


def scope(secret: str) -> str:
    return f"{VAULT}/secrets/{secret}"


def assignment(where: str, role: str, number: int = 1) -> Any:
    return hook.Assignment(
        f"{where}/providers/Microsoft.Authorization/roleAssignments/{number:08d}", where, role
    )


def desired(*, rotate: bool = True) -> list[Any]:
    grants: list[Any] = hook.desired_grants(
        VAULT, app_id=APP_ID, app_secret=APP_SECRET, refresh_token=REFRESH, rotate=rotate
    )
    return grants


# --- The plan ------------------------------------------------------------------------------


def test_the_hook_uses_the_built_in_role_ids() -> None:
    assert hook.KEY_VAULT_SECRETS_USER == KEY_VAULT_SECRETS_USER
    assert hook.KEY_VAULT_SECRETS_OFFICER == KEY_VAULT_SECRETS_OFFICER


def test_read_on_three_secrets_and_write_on_the_refresh_token_only() -> None:
    grants = {(g.scope, g.role) for g in desired()}
    assert grants == {
        (scope(APP_ID), KEY_VAULT_SECRETS_USER),
        (scope(APP_SECRET), KEY_VAULT_SECRETS_USER),
        (scope(REFRESH), KEY_VAULT_SECRETS_OFFICER),
    }
    assert all(g.scope != VAULT for g in desired())


def test_without_rotation_nothing_is_writable() -> None:
    assert {g.role for g in desired(rotate=False)} == {KEY_VAULT_SECRETS_USER}


def test_three_distinct_secret_names_are_required() -> None:
    with pytest.raises(ValueError, match="must differ"):
        hook.desired_grants(VAULT, app_id="x", app_secret="x", refresh_token="y", rotate=True)


def test_nothing_is_granted_before_the_secrets_exist() -> None:
    legacy = assignment(VAULT, KEY_VAULT_SECRETS_OFFICER)
    plan = hook.build_plan(
        vault_id=VAULT, desired=desired(), existing_secrets=[], assignments=[legacy]
    )
    assert plan.create == ()
    assert plan.missing == (APP_ID, APP_SECRET, REFRESH)
    # The vault-wide role of an earlier deployment stays until the scoped ones replace it.
    assert plan.remove == ()


def test_only_the_secrets_present_are_granted() -> None:
    plan = hook.build_plan(
        vault_id=VAULT, desired=desired(), existing_secrets=[APP_ID, APP_SECRET], assignments=[]
    )
    assert [g.secret for g in plan.create] == [APP_ID, APP_SECRET]
    assert plan.missing == (REFRESH,)


def test_a_vault_wide_role_is_replaced_by_the_scoped_ones() -> None:
    legacy = assignment(VAULT, KEY_VAULT_SECRETS_OFFICER)
    plan = hook.build_plan(
        vault_id=VAULT,
        desired=desired(),
        existing_secrets=[APP_ID.upper(), APP_SECRET, REFRESH],  # names are case-insensitive
        assignments=[legacy],
    )
    assert {g.scope for g in plan.create} == {scope(APP_ID), scope(APP_SECRET), scope(REFRESH)}
    assert plan.remove == (legacy,)
    assert plan.missing == ()


def test_a_second_run_changes_nothing() -> None:
    held = [assignment(g.scope.upper(), g.role, i) for i, g in enumerate(desired())]
    plan = hook.build_plan(
        vault_id=VAULT,
        desired=desired(),
        existing_secrets=[APP_ID, APP_SECRET, REFRESH],
        assignments=held,
    )
    assert plan.create == () and plan.remove == ()
    assert len(plan.keep) == 3


def test_turning_rotation_off_takes_write_away() -> None:
    officer = assignment(scope(REFRESH), KEY_VAULT_SECRETS_OFFICER, 3)
    held = [
        assignment(scope(APP_ID), KEY_VAULT_SECRETS_USER, 1),
        assignment(scope(APP_SECRET), KEY_VAULT_SECRETS_USER, 2),
        officer,
    ]
    plan = hook.build_plan(
        vault_id=VAULT,
        desired=desired(rotate=False),
        existing_secrets=[APP_ID, APP_SECRET, REFRESH],
        assignments=held,
    )
    assert [(g.secret, g.role) for g in plan.create] == [(REFRESH, KEY_VAULT_SECRETS_USER)]
    assert plan.remove == (officer,)


def test_write_on_the_app_secret_and_stale_secrets_is_removed() -> None:
    wrong = assignment(scope(APP_SECRET), KEY_VAULT_SECRETS_OFFICER, 7)
    stale = assignment(scope("old-refresh-token"), KEY_VAULT_SECRETS_OFFICER, 8)
    plan = hook.build_plan(
        vault_id=VAULT,
        desired=desired(),
        existing_secrets=[APP_ID, APP_SECRET, REFRESH],
        assignments=[wrong, stale],
    )
    assert set(plan.remove) == {wrong, stale}


def test_roles_above_the_vault_and_other_roles_are_left_alone() -> None:
    group = VAULT.split("/providers/", maxsplit=1)[0]
    above = assignment(group, KEY_VAULT_SECRETS_OFFICER, 9)
    reader = hook.Assignment(f"{VAULT}/ra/1", VAULT, "21090545-7ca7-4776-b22c-e363652d74d2")
    plan = hook.build_plan(
        vault_id=VAULT,
        desired=desired(),
        existing_secrets=[APP_ID, APP_SECRET, REFRESH],
        assignments=[above, reader],
    )
    assert plan.remove == ()
    assert plan.inherited == (above,)


# --- The commands it runs -------------------------------------------------------------------


class FakeAz:
    """Answers `az rest` reads from a fake vault; records the writes."""

    def __init__(
        self,
        secrets: Sequence[str] = (),
        held: Sequence[tuple[str, str]] = (),
        fail: bool = False,
        deployer_held: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.secrets = list(secrets)
        self.held = {
            PRINCIPAL: self._assignments(PRINCIPAL, held, first=0),
            DEPLOYER: self._assignments(DEPLOYER, deployer_held, first=100),
        }
        self.fail = fail
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> str:
        self.calls.append(list(argv))
        if self.fail:
            raise hook.CommandError("az: Please run 'az login' to setup account.")
        assert argv[0] == "az"
        if argv[1] == "rest":
            # az rest has no --subscription: it signs in for the subscription in the URL.
            assert "--subscription" not in argv
            url = argv[argv.index("--url") + 1]
            assert url.startswith("/subscriptions/"), "relative: the current cloud's ARM"
            if url.startswith(f"{VAULT}/secrets?"):
                # Resource Manager lists names and attributes; the value is never in it.
                return json.dumps({"value": [{"name": s, "properties": {}} for s in self.secrets]})
            if "/providers/Microsoft.Authorization/roleAssignments?" in url:
                [principal] = [p for p in self.held if f"principalId%20eq%20'{p}'" in url]
                return json.dumps({"value": self.held[principal]})
        if argv[1:4] in (["role", "assignment", "create"], ["role", "assignment", "delete"]):
            assert argv[argv.index("--subscription") + 1] == SUBSCRIPTION
            return "{}"
        raise AssertionError(f"unexpected command {argv}")

    @staticmethod
    def _assignments(
        principal: str, held: Sequence[tuple[str, str]], *, first: int
    ) -> list[dict[str, Any]]:
        return [
            {
                "id": f"{where}/providers/Microsoft.Authorization/roleAssignments/{i:08d}",
                "properties": {
                    "scope": where,
                    "principalId": principal,
                    "roleDefinitionId": f"/subscriptions/{SUBSCRIPTION}/providers/"
                    f"Microsoft.Authorization/roleDefinitions/{role}",
                },
            }
            for i, (where, role) in enumerate(held, start=first)
        ]

    def writes(self) -> list[list[str]]:
        return [c for c in self.calls if c[1:3] == ["role", "assignment"]]


def created(az: FakeAz) -> set[tuple[str, str]]:
    return {
        (c[c.index("--scope") + 1], c[c.index("--role") + 1])
        for c in az.writes()
        if c[3] == "create"
    }


def test_first_azd_up_finds_no_secrets_and_says_what_to_do(
    capsys: pytest.CaptureFixture[str],
) -> None:
    az = FakeAz()
    assert hook.main([], ENV, az) == 0
    assert az.writes() == []
    out = capsys.readouterr().out
    assert "python3 -m ops secrets" in out
    assert "python3 -m ops consent" in out
    assert "azd hooks run postprovision" in out


def test_first_azd_up_says_the_loading_commands_grant_the_roles_themselves(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert hook.main([], ENV, FakeAz()) == 0
    assert "each grants the roles on what it stored" in capsys.readouterr().out


def test_the_docstring_orders_azd_up_then_the_commands_that_run_this_hook() -> None:
    doc = hook.__doc__ or ""
    steps = ["1. azd up", "2. python3 -m ops secrets", "3. python3 -m ops consent"]
    positions = [doc.find(step) for step in steps]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), positions
    assert "4. azd hooks run postprovision" not in doc
    assert "`azd hooks run postprovision` runs this hook alone" in doc


def test_after_loading_the_secrets_it_grants_per_secret_roles(
    capsys: pytest.CaptureFixture[str],
) -> None:
    az = FakeAz(secrets=[APP_ID, APP_SECRET, REFRESH])
    assert hook.main([], ENV, az) == 0
    assert created(az) == {
        (scope(APP_ID), KEY_VAULT_SECRETS_USER),
        (scope(APP_SECRET), KEY_VAULT_SECRETS_USER),
        (scope(REFRESH), KEY_VAULT_SECRETS_OFFICER),
    }
    for command in az.writes():
        assert command[command.index("--assignee-object-id") + 1] == PRINCIPAL
        assert command[command.index("--assignee-principal-type") + 1] == "ServicePrincipal"
    assert "up to 10 minutes" in capsys.readouterr().out


def test_it_removes_the_vault_wide_role_after_granting() -> None:
    az = FakeAz(secrets=[APP_ID, APP_SECRET, REFRESH], held=[(VAULT, KEY_VAULT_SECRETS_OFFICER)])
    assert hook.main([], ENV, az) == 0
    kinds = [c[3] for c in az.writes()]
    assert kinds == ["create", "create", "create", "delete"], "create first, then remove"
    delete = az.writes()[-1]
    assert delete[delete.index("--ids") + 1].startswith(f"{VAULT}/providers/")


def test_without_the_standing_role_loading_is_sent_to_the_just_in_time_grant(
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {**ENV, "GRANT_DEPLOYER_SECRETS_OFFICER": "false", "DEPLOYER_PRINCIPAL_ID": DEPLOYER}
    assert hook.main([], env, FakeAz()) == 0
    out = capsys.readouterr().out
    assert "needs Key Vault Secrets Officer on the vault" in out
    assert "just in time" in out and "infra/README.md" in out


def test_a_standing_role_left_after_turning_it_off_is_named_with_its_removal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Bicep does not delete an assignment whose condition turned false.
    az = FakeAz(
        secrets=[APP_ID, APP_SECRET, REFRESH], deployer_held=[(VAULT, KEY_VAULT_SECRETS_OFFICER)]
    )
    env = {**ENV, "GRANT_DEPLOYER_SECRETS_OFFICER": "false", "DEPLOYER_PRINCIPAL_ID": DEPLOYER}
    assert hook.main([], env, az) == 0
    out = capsys.readouterr().out
    standing = f"{VAULT}/providers/Microsoft.Authorization/roleAssignments/00000100"
    assert "still holds Key Vault Secrets Officer on the whole vault" in out
    assert f"az role assignment delete --ids {standing}" in out
    assert [c for c in az.writes() if c[3] == "delete"] == [], "the operator removes it"


def test_with_the_secrets_loaded_the_standing_role_is_pointed_out(
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {**ENV, "DEPLOYER_PRINCIPAL_ID": DEPLOYER}  # the switch unset: on, as in Bicep
    assert hook.main([], env, FakeAz(secrets=[APP_ID, APP_SECRET, REFRESH])) == 0
    out = capsys.readouterr().out
    assert "azd env set GRANT_DEPLOYER_SECRETS_OFFICER false" in out


def test_rotation_off_from_the_azd_environment() -> None:
    az = FakeAz(secrets=[APP_ID, APP_SECRET, REFRESH])
    assert hook.main([], {**ENV, "ROTATE_REFRESH_TOKEN": "false"}, az) == 0
    assert {role for _, role in created(az)} == {KEY_VAULT_SECRETS_USER}


def test_secret_names_default_to_the_contract_when_the_environment_lacks_them() -> None:
    az = FakeAz(secrets=[APP_ID, APP_SECRET, REFRESH])
    env = {k: v for k, v in ENV.items() if not k.startswith("SECRET_NAME_")}
    assert hook.main([], env, az) == 0
    assert {s for s, _ in created(az)} == {scope(APP_ID), scope(APP_SECRET), scope(REFRESH)}


def test_dry_run_only_reads() -> None:
    az = FakeAz(secrets=[APP_ID, APP_SECRET, REFRESH], held=[(VAULT, KEY_VAULT_SECRETS_OFFICER)])
    assert hook.main(["--dry-run"], ENV, az) == 0
    assert az.writes() == []


def test_an_azure_cli_failure_is_reported_with_the_way_out(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert hook.main([], ENV, FakeAz(fail=True)) == 1
    out = capsys.readouterr().out
    assert "az login" in out and "azd hooks run postprovision" in out


def test_missing_provision_outputs_stop_the_hook() -> None:
    env = {k: v for k, v in ENV.items() if k != "AZURE_KEY_VAULT_ID"}
    with pytest.raises(SystemExit) as stopped:
        hook.main([], env, FakeAz())
    assert stopped.value.code == 1


def test_the_hooks_never_read_secret_values() -> None:
    # Data-plane reads (az keyvault secret show/download/list) could put values or metadata of
    # secrets in a process's output; the hooks ask Resource Manager for names only.
    for path in HOOKS.glob("*.py"):
        assert not re.search(r"keyvault\W+secret", path.read_text()), path.name


def test_run_by_hand_the_hooks_read_the_azd_environment() -> None:
    calls: list[list[str]] = []

    def azd(argv: Sequence[str]) -> str:
        calls.append(list(argv))
        return json.dumps({"AZURE_ENV_NAME": "prod", "AZURE_KEY_VAULT_ID": VAULT})

    merged = hook.azd_environment(azd, {"PATH": "/usr/bin"})
    assert calls == [["azd", "env", "get-values", "--output", "json"]]
    assert merged["AZURE_KEY_VAULT_ID"] == VAULT and merged["PATH"] == "/usr/bin"
    # Run by azd, the values are already in the environment: azd is not asked again.
    assert hook.azd_environment(azd, {"AZURE_ENV_NAME": "prod"}) == {"AZURE_ENV_NAME": "prod"}
    assert len(calls) == 1
