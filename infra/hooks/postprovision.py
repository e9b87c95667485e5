"""azd postprovision hook: the app identity's Key Vault roles, one secret at a time.

The app needs to read the three Partner Center secrets and, with ROTATE_REFRESH_TOKEN on, to
write new versions of the refresh token. Nothing more: it must not be able to overwrite or
delete the app ID or the app secret. So instead of one role on the whole vault it gets

    Key Vault Secrets User     on the app ID secret and on the app secret
    Key Vault Secrets Officer  on the refresh-token secret (Secrets User when rotation is off)

A role scoped to a secret can only be assigned once that secret exists, and the templates must
not create the secrets (a secret declared in Bicep would overwrite the rotated refresh token on
every provision). So the commands that store the secrets run this hook too (ops/grant.py loads
this file and calls `main`), once they have stored them:

    1. azd up                      creates the vault; this hook finds no secrets and says so
    2. python3 -m ops secrets      stores the app ID and the app secret, then runs this hook:
                                   Secrets User on those two; the refresh token is missing
    3. python3 -m ops consent      stores the refresh token, then runs this hook: the role
                                   on the refresh token (the other two are kept)

In either order, and on a re-run of either, the roles converge on the plan below. When that
grant fails, or ran with --no-grant, `azd hooks run postprovision` runs this hook alone.

Every later `azd provision` runs it again: it adds what is missing, and removes the identity's
Key Vault Secrets User or Officer assignments that the plan does not call for (a vault-wide
one from an earlier version of these templates, Officer on the refresh token after rotation
was turned off, a secret that was renamed). A vault-wide assignment is only removed once all
three scoped ones are in place, so the app never loses access while a secret is still missing.

    python3 infra/hooks/postprovision.py            # what azd runs (azure.yaml)
    python3 infra/hooks/postprovision.py --dry-run  # print the plan, change nothing

Uses the Azure CLI (`az rest` against Azure Resource Manager, `az role assignment`): it works
when the vault's public network access is off, and it never reads a secret's value.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

from azcli import (
    CommandError,
    Runner,
    az_json,
    az_rest_get_all,
    azd_environment,
    required,
    run,
    say,
)

KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
KEY_VAULT_SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
ROLE_NAMES = {
    KEY_VAULT_SECRETS_USER: "Key Vault Secrets User",
    KEY_VAULT_SECRETS_OFFICER: "Key Vault Secrets Officer",
}
KEY_VAULT_API = "2023-07-01"
ROLE_ASSIGNMENT_API = "2022-04-01"
DEFAULT_SECRET_NAMES = {
    "SECRET_NAME_APP_ID": "partner-center-app-id",
    "SECRET_NAME_APP_SECRET": "partner-center-app-secret",
    "SECRET_NAME_REFRESH_TOKEN": "partner-center-refresh-token",
}


@dataclass(frozen=True)
class Grant:
    """One role the app identity should hold on one secret."""

    secret: str
    scope: str
    role: str

    def describe(self) -> str:
        return f"{ROLE_NAMES[self.role]} on secret {self.secret}"


@dataclass(frozen=True)
class Assignment:
    """An existing role assignment of the app identity (Key Vault secrets roles only)."""

    id: str
    scope: str
    role: str

    def describe(self, vault_id: str) -> str:
        where = (
            "the whole vault"
            if same_scope(self.scope, vault_id)
            else f"secret {self.scope.rsplit('/', 1)[-1]}"
        )
        return f"{ROLE_NAMES[self.role]} on {where}"


@dataclass(frozen=True)
class Plan:
    """What the hook does: assignments to create and remove, secrets still missing."""

    create: tuple[Grant, ...]
    remove: tuple[Assignment, ...]
    keep: tuple[Grant, ...]
    missing: tuple[str, ...]
    # Secrets roles held above the vault (resource group, subscription): not this hook's to
    # remove, but they defeat the per-secret scopes, so the operator is told.
    inherited: tuple[Assignment, ...] = ()


def secret_scope(vault_id: str, secret: str) -> str:
    """The resource ID of a secret: the scope of a role assigned on that secret alone."""
    return f"{vault_id}/secrets/{secret}"


def same_scope(left: str, right: str) -> bool:
    """Resource IDs compare case-insensitively, without a trailing slash."""
    return left.rstrip("/").lower() == right.rstrip("/").lower()


def desired_grants(
    vault_id: str, *, app_id: str, app_secret: str, refresh_token: str, rotate: bool
) -> list[Grant]:
    """Read on the three secrets; write on the refresh token only, and only with rotation."""
    refresh_role = KEY_VAULT_SECRETS_OFFICER if rotate else KEY_VAULT_SECRETS_USER
    wanted = [
        (app_id, KEY_VAULT_SECRETS_USER),
        (app_secret, KEY_VAULT_SECRETS_USER),
        (refresh_token, refresh_role),
    ]
    names = [name for name, _ in wanted]
    if len(set(names)) != len(names):
        raise ValueError("the three secret names must differ: " + ", ".join(names))
    return [Grant(name, secret_scope(vault_id, name), role) for name, role in wanted]


def build_plan(
    *,
    vault_id: str,
    desired: Sequence[Grant],
    existing_secrets: Iterable[str],
    assignments: Iterable[Assignment],
) -> Plan:
    """Compare what the identity should hold with what it holds; touch only secrets roles."""
    present = {name.lower() for name in existing_secrets}
    held = [a for a in assignments if a.role in ROLE_NAMES]
    missing = tuple(g.secret for g in desired if g.secret.lower() not in present)
    create: list[Grant] = []
    keep: list[Grant] = []
    for grant in desired:
        if grant.secret in missing:
            continue
        if any(same_scope(a.scope, grant.scope) and a.role == grant.role for a in held):
            keep.append(grant)
        else:
            create.append(grant)

    def wanted(assignment: Assignment) -> bool:
        return any(
            same_scope(assignment.scope, g.scope) and assignment.role == g.role for g in desired
        )

    def in_vault(assignment: Assignment) -> bool:
        return same_scope(assignment.scope, vault_id) or assignment.scope.lower().startswith(
            vault_id.rstrip("/").lower() + "/secrets/"
        )

    # A vault-wide assignment goes only when every scoped one is in place.
    remove = [
        a
        for a in held
        if in_vault(a) and not wanted(a) and (not same_scope(a.scope, vault_id) or not missing)
    ]
    inherited = [a for a in held if not in_vault(a)]
    return Plan(tuple(create), tuple(remove), tuple(keep), missing, tuple(inherited))


def existing_secret_names(runner: Runner, vault_id: str) -> list[str]:
    """Names of the vault's secrets, from Resource Manager (names and attributes, no values)."""
    items = az_rest_get_all(runner, f"{vault_id}/secrets?api-version={KEY_VAULT_API}")
    return [str(item["name"]) for item in items if "name" in item]


def identity_assignments(runner: Runner, vault_id: str, principal_id: str) -> list[Assignment]:
    """A principal's role assignments at, above and below the vault (Key Vault roles kept)."""
    query = quote(f"principalId eq '{principal_id}'", safe="'")
    items = az_rest_get_all(
        runner,
        f"{vault_id}/providers/Microsoft.Authorization/roleAssignments"
        f"?api-version={ROLE_ASSIGNMENT_API}&$filter={query}",
    )
    found = []
    for item in items:
        properties = item.get("properties", {})
        role = str(properties.get("roleDefinitionId", "")).rsplit("/", 1)[-1].lower()
        if role in ROLE_NAMES and str(properties.get("principalId", "")) == principal_id:
            found.append(Assignment(str(item["id"]), str(properties.get("scope", "")), role))
    return found


def apply(runner: Runner, plan: Plan, principal_id: str, subscription: str) -> None:
    """Create before removing, so the app keeps its access throughout."""
    for grant in plan.create:
        az_json(
            runner,
            "role",
            "assignment",
            "create",
            "--assignee-object-id",
            principal_id,
            "--assignee-principal-type",
            "ServicePrincipal",
            "--role",
            grant.role,
            "--scope",
            grant.scope,
            "--subscription",
            subscription,
        )
    for assignment in plan.remove:
        az_json(
            runner,
            "role",
            "assignment",
            "delete",
            "--ids",
            assignment.id,
            "--subscription",
            subscription,
        )


def report(plan: Plan, vault_id: str, *, dry_run: bool, vnet_enabled: bool) -> None:
    prefix = "would " if dry_run else ""
    for grant in plan.keep:
        say(f"postprovision: app identity already holds {grant.describe()}")
    for grant in plan.create:
        say(f"postprovision: {prefix}grant the app identity {grant.describe()}")
    for assignment in plan.remove:
        say(f"postprovision: {prefix}remove the app identity's {assignment.describe(vault_id)}")
    for assignment in plan.inherited:
        say(
            f"postprovision: warning: the app identity also holds {ROLE_NAMES[assignment.role]} "
            f"on {assignment.scope}, above the vault; remove it for least privilege: "
            f"az role assignment delete --ids {assignment.id}"
        )
    if plan.missing:
        say(
            "postprovision: not in the vault yet: "
            + ", ".join(plan.missing)
            + ". Load them (python3 -m ops secrets for the app ID and secret, python3 -m ops "
            "consent for the refresh token): each grants the roles on what it stored. Loaded "
            "with --no-grant, run: azd hooks run postprovision"
        )
        if vnet_enabled:
            say(
                "postprovision: the vault takes no public traffic (VNET_ENABLED): open it to "
                "your address for the loading step, as infra/README.md shows."
            )
    if (plan.create or plan.remove) and not dry_run:
        say("postprovision: role assignments can take up to 10 minutes to apply.")


def standing_deployer_role(runner: Runner, vault_id: str, deployer: str) -> list[Assignment]:
    """The deployer's Key Vault Secrets Officer on the whole vault (what the templates grant)."""
    return [
        a
        for a in identity_assignments(runner, vault_id, deployer)
        if a.role == KEY_VAULT_SECRETS_OFFICER and same_scope(a.scope, vault_id)
    ]


def report_deployer(
    plan: Plan, *, grant_deployer: bool, deployer: str, standing: Sequence[Assignment]
) -> None:
    """The deployer's own vault role: it can read the refresh token, so it should not stay."""
    if grant_deployer and deployer and not plan.missing:
        say(
            "postprovision: note: the deploying account keeps Key Vault Secrets Officer on the "
            "whole vault, which can read the refresh token. With the secrets loaded, turn it "
            "off: azd env set GRANT_DEPLOYER_SECRETS_OFFICER false, azd provision, then remove "
            "the assignment (infra/README.md, Operator access to the vault)."
        )
    if not grant_deployer and plan.missing:
        say(
            "postprovision: loading them needs Key Vault Secrets Officer on the vault, which "
            "GRANT_DEPLOYER_SECRETS_OFFICER=false no longer grants standing: get it just in "
            "time (a PIM activation, or a temporary az role assignment create scoped to the "
            "vault), as infra/README.md shows (Operator access to the vault)."
        )
    for assignment in standing:
        say(
            f"postprovision: warning: the deploying account {deployer} still holds Key Vault "
            "Secrets Officer on the whole vault (GRANT_DEPLOYER_SECRETS_OFFICER=false removes "
            "nothing), so it can read the refresh token. Unless it is a PIM activation, which "
            f"ends by itself, remove it once done: az role assignment delete --ids {assignment.id}"
        )


def main(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    runner: Runner = run,
) -> int:
    parser = argparse.ArgumentParser(prog="postprovision.py", description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    args = parser.parse_args(argv)
    env = azd_environment(runner, os.environ) if environ is None else environ

    subscription, vault_id, principal_id = required(
        env,
        "AZURE_SUBSCRIPTION_ID",
        "AZURE_KEY_VAULT_ID",
        "AZURE_USER_ASSIGNED_IDENTITY_PRINCIPAL_ID",
    )
    names = {
        key: env.get(key, "").strip() or default for key, default in DEFAULT_SECRET_NAMES.items()
    }
    rotate = env.get("ROTATE_REFRESH_TOKEN", "true").strip().lower() not in {"false", "0", "no"}
    vnet_enabled = env.get("VNET_ENABLED", "false").strip().lower() in {"true", "1", "yes"}
    # Unset means the template default: the standing grant is on.
    grant_deployer = env.get("GRANT_DEPLOYER_SECRETS_OFFICER", "true").strip().lower() not in {
        "false",
        "0",
        "no",
    }
    deployer = env.get("DEPLOYER_PRINCIPAL_ID", "").strip()
    try:
        desired = desired_grants(
            vault_id,
            app_id=names["SECRET_NAME_APP_ID"],
            app_secret=names["SECRET_NAME_APP_SECRET"],
            refresh_token=names["SECRET_NAME_REFRESH_TOKEN"],
            rotate=rotate,
        )
        plan = build_plan(
            vault_id=vault_id,
            desired=desired,
            existing_secrets=existing_secret_names(runner, vault_id),
            assignments=identity_assignments(runner, vault_id, principal_id),
        )
        report(plan, vault_id, dry_run=args.dry_run, vnet_enabled=vnet_enabled)
        standing = (
            standing_deployer_role(runner, vault_id, deployer)
            if deployer and not grant_deployer
            else []
        )
        report_deployer(plan, grant_deployer=grant_deployer, deployer=deployer, standing=standing)
        if not args.dry_run:
            apply(runner, plan, principal_id, subscription)
    except (CommandError, ValueError) as exc:
        say(f"postprovision: {exc}")
        say(
            "postprovision: the app has no Key Vault access until this succeeds; fix the cause "
            "(often: 'az login', or 'az account set --subscription <id>'), then run: "
            "azd hooks run postprovision"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
