"""After `ops secrets` or `ops consent` has stored secrets: the app's per-secret Key Vault roles.

The app identity's roles are scoped to single secrets (infra/hooks/postprovision.py), and a
role scoped to a secret can only be assigned once the secret exists. `azd up` runs the hook
while the vault is still empty, so the command that stores a secret runs the same hook right
after, with the selected azd environment's values: the roles follow the secrets without a
separate step, in whichever order the commands run. The hook grants only what its plan calls
for, on the secrets that exist, and says which are still missing.

It runs only against the azd environment's own vault. Skipped, with one line saying so,
under --no-grant, without an azd environment (local runs against the emulators), or when the
command wrote to another vault. A failure keeps what was stored (already printed) and ends
the command with EXIT_GRANT_FAILED and the command that retries the grant alone.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from ops.deps import Deps
from ops.errors import OpsError
from ops.postprovision import RETRY_COMMAND, run_hook
from ops.settings import SettingSource

# Distinct from a plain failure (1): the secrets are stored, only the roles are not granted.
EXIT_GRANT_FAILED = 3
VAULT_ENDPOINT = "AZURE_KEY_VAULT_ENDPOINT"


def add_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-grant",
        action="store_true",
        help="store only; do not grant the app its Key Vault roles on the stored secrets"
        f" (later: {RETRY_COMMAND})",
    )


def grant_app_roles(
    args: argparse.Namespace, deps: Deps, source: SettingSource, vault_url: str
) -> int:
    """Run the postprovision hook for the vault just written to; 0, or raise on failure."""
    console = deps.console
    if args.no_grant:
        console.say(f"grant: skipped (--no-grant); to grant the app's roles: {RETRY_COMMAND}")
        return 0
    azd = source.azd_values()
    if not azd:
        console.say(
            "grant: skipped, no azd environment; in a deployed project the app's roles are"
            f" granted by: {RETRY_COMMAND}"
        )
        return 0
    # The hook reads the process environment over azd's values, as when run by hand.
    environ: Mapping[str, str] = {**azd, **deps.environ}
    if not _same_vault(environ.get(VAULT_ENDPOINT, ""), vault_url):
        console.say(
            f"grant: skipped, {vault_url} is not the azd environment's vault"
            f" ({VAULT_ENDPOINT}); no roles were changed"
        )
        return 0
    try:
        code = run_hook(environ, deps.az)
    except Exception as exc:  # noqa: BLE001 - the stored secrets must stay reported
        # The type only: an exception's message can quote what az printed.
        console.warn(f"grant: unexpected {type(exc).__name__}")
        code = 1
    if code != 0:
        raise OpsError(
            "What is stored above stays stored, but the app's Key Vault roles were not"
            f" granted (see above). Fix the cause, then run: {RETRY_COMMAND}",
            exit_code=EXIT_GRANT_FAILED,
        )
    return 0


def _same_vault(left: str, right: str) -> bool:
    return bool(left.strip()) and left.strip().rstrip("/").lower() == right.rstrip("/").lower()
