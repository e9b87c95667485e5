"""azd preprovision hook: give the Key Vault a new name when the previous one is soft-deleted.

The vault has purge protection, so after `azd down` (with or without --purge) or deleting the
resource group by hand, its name stays reserved by the deleted vault for 90 days and a vault
of the same name cannot be created. The vault name is kv-<token>, or kv-<token>-<salt> when the
azd environment holds KEY_VAULT_NAME_SALT (main.bicep). Before every provision this hook looks
up the vault the environment last deployed (AZURE_KEY_VAULT_NAME, an output of the previous
provision); when that vault is in the deleted state it stores a new random salt with
`azd env set`, so the provision creates a fresh, empty vault under a new name. While the
vault exists the salt never changes, so provisioning again keeps the same vault.

    python3 infra/hooks/preprovision.py            # what azd runs (azure.yaml)
    python3 infra/hooks/preprovision.py --dry-run  # say what it would do

Needs the Azure CLI signed in to the environment's subscription; without it the hook warns
and lets the provision go on (which then fails only if the old name is still reserved).

It also says where the alerts go: to ALERT_EMAIL, or, when that is empty, to nobody (the
alert rules are deployed all the same and show in the portal, but no action group sends
them anywhere); a value that is not one e-mail address stops the provision.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import string
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from azcli import CommandError, Runner, az_json, azd_environment, run, say

SALT_VARIABLE = "KEY_VAULT_NAME_SALT"
SALT_ALPHABET = string.ascii_lowercase + string.digits
SALT_LENGTH = 6
# main.bicep: @maxLength(7) on the salt; kv- (3) + token (13) + '-' + 7 = 24 characters.
SALT_MAX_LENGTH = 7
SALT_FORM = re.compile(rf"[a-z0-9]{{1,{SALT_MAX_LENGTH}}}")
ALERT_EMAIL_VARIABLE = "ALERT_EMAIL"
# One address: a local part, an @ and a domain with a dot; no spaces, commas or semicolons.
EMAIL_FORM = re.compile(r"[^@\s,;]+@[^@\s,;]+\.[^@\s,;.]+")


@dataclass(frozen=True)
class SaltDecision:
    """What to do with KEY_VAULT_NAME_SALT: `new_salt` None keeps the current one."""

    new_salt: str | None
    reason: str


def new_salt() -> str:
    """A random salt of lower-case letters and digits (valid at the end of a vault name)."""
    return "".join(secrets.choice(SALT_ALPHABET) for _ in range(SALT_LENGTH))


def decide_salt(
    *,
    previous_vault: str,
    current_salt: str,
    previous_vault_deleted: bool,
    make_salt: Callable[[], str] = new_salt,
) -> SaltDecision:
    """Keep the salt unless the vault this environment last deployed is soft-deleted."""
    if current_salt and not SALT_FORM.fullmatch(current_salt):
        raise ValueError(
            f"{SALT_VARIABLE} must be 1-{SALT_MAX_LENGTH} lower-case letters or digits"
        )
    if not previous_vault:
        return SaltDecision(None, "no earlier vault in this azd environment: nothing to check")
    if not previous_vault_deleted:
        return SaltDecision(None, f"vault {previous_vault} is not deleted: keeping its name")
    salt = make_salt()
    while salt == current_salt:
        salt = make_salt()
    return SaltDecision(
        salt,
        f"vault {previous_vault} is soft-deleted and purge protection keeps its name for up "
        f"to 90 days: the new vault gets {SALT_VARIABLE}={salt}. Load the secrets into it "
        "after provisioning (python3 -m ops secrets, then python3 -m ops consent).",
    )


def alert_notice(environ: Mapping[str, str]) -> tuple[bool, str]:
    """(whether the value is usable, what to say about where the alerts go)."""
    address = environ.get(ALERT_EMAIL_VARIABLE, "").strip()
    if not address:
        return True, (
            f"preprovision: {ALERT_EMAIL_VARIABLE} is not set, so the alert rules are deployed "
            "but reach nobody (no action group): credentials about to expire, refused "
            "credentials and unusual reset volumes are seen only in the portal. Set it: "
            f"azd env set {ALERT_EMAIL_VARIABLE} <address>, then azd provision."
        )
    if not EMAIL_FORM.fullmatch(address):
        return False, (
            f"preprovision: {ALERT_EMAIL_VARIABLE} must be one e-mail address "
            f"(azd env set {ALERT_EMAIL_VARIABLE} <address>)."
        )
    return True, f"preprovision: alerts are e-mailed to {address} ({ALERT_EMAIL_VARIABLE})."


def is_deleted(runner: Runner, vault_name: str, subscription: str) -> bool:
    """True when a deleted vault of that name is waiting out its retention period."""
    found = az_json(
        runner,
        "keyvault",
        "list-deleted",
        "--resource-type",
        "vault",
        "--subscription",
        subscription,
        "--query",
        f"[?name=='{vault_name}'].name",
    )
    return bool(found)


def main(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    runner: Runner = run,
) -> int:
    parser = argparse.ArgumentParser(prog="preprovision.py", description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="change nothing, say what to do")
    args = parser.parse_args(argv)
    env = azd_environment(runner, os.environ) if environ is None else environ
    usable, notice = alert_notice(env)
    say(notice)
    return keep_vault_name(env, runner, dry_run=args.dry_run) if usable else 1


def keep_vault_name(env: Mapping[str, str], runner: Runner, *, dry_run: bool) -> int:
    """A new salt when the environment's previous vault is soft-deleted (module docstring)."""
    previous_vault = env.get("AZURE_KEY_VAULT_NAME", "").strip()
    current_salt = env.get(SALT_VARIABLE, "").strip()
    subscription = env.get("AZURE_SUBSCRIPTION_ID", "").strip()
    deleted = False
    if previous_vault:
        if not subscription:
            say("preprovision: AZURE_SUBSCRIPTION_ID is not set; not checking the vault name.")
            return 0
        try:
            deleted = is_deleted(runner, previous_vault, subscription)
        except CommandError as exc:
            say(
                f"preprovision: could not check whether vault {previous_vault} is deleted "
                f"({exc}). Sign in with 'az login'. If provisioning then fails because the "
                f"vault name is taken by a deleted vault, run "
                f"'azd env set {SALT_VARIABLE} <1-7 lower-case letters or digits>' and retry."
            )
            return 0
    try:
        decision = decide_salt(
            previous_vault=previous_vault,
            current_salt=current_salt,
            previous_vault_deleted=deleted,
        )
    except ValueError as exc:
        say(f"preprovision: {exc}")
        return 1
    say(f"preprovision: {decision.reason}")
    if decision.new_salt is None or dry_run:
        return 0
    command = ["azd", "env", "set", SALT_VARIABLE, decision.new_salt]
    if env.get("AZURE_ENV_NAME"):
        command += ["--environment", env["AZURE_ENV_NAME"]]
    try:
        runner(command)
    except CommandError as exc:
        say(f"preprovision: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
