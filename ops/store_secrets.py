"""`python3 -m ops secrets`: store the app ID and the app secret in Key Vault.

The secret comes from a no-echo prompt or a file (`-` for standard input), never from a
command-line value, which would land in shell history and in the process list. Only
secret names and versions are printed. Then the app is granted its per-secret Key Vault roles
on what is stored (ops/grant.py).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from ops.deps import Deps
from ops.errors import NoTerminal, OpsError
from ops.grant import add_argument as add_grant_argument
from ops.grant import grant_app_roles
from ops.settings import SettingSource, application_id, flag_bool, secret_name, service_url
from ops.vault import Vault

HELP = "store the app ID and app secret in Key Vault (prompted unseen, or from a file)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--vault-url",
        help="Key Vault URL (default: KEY_VAULT_URL, else the azd environment's vault)",
    )
    parser.add_argument(
        "--app-id", help="the app's application (client) ID; asked for when not given"
    )
    parser.add_argument(
        "--app-secret-file",
        metavar="PATH",
        help="read the app secret from this file ('-' for standard input) instead of a prompt",
    )
    parser.add_argument(
        "--app-secret-expires",
        metavar="YYYY-MM-DD",
        help="the secret's expiry date in Entra; stored on the secret for the health check",
    )
    parser.add_argument(
        "--app-id-name", help="secret name of the app ID (default: SECRET_NAME_APP_ID)"
    )
    parser.add_argument(
        "--app-secret-name",
        help="secret name of the app secret (default: SECRET_NAME_APP_SECRET)",
    )
    add_grant_argument(parser)


def run(args: argparse.Namespace, deps: Deps) -> int:
    source = SettingSource(deps.environ, deps.azd_environment)
    vault_url = service_url(
        "KEY_VAULT_URL", source.require("KEY_VAULT_URL", args.vault_url, "--vault-url")
    )
    app_id_name = secret_name(
        "SECRET_NAME_APP_ID",
        source.require("SECRET_NAME_APP_ID", args.app_id_name, "--app-id-name"),
    )
    app_secret_name = secret_name(
        "SECRET_NAME_APP_SECRET",
        source.require("SECRET_NAME_APP_SECRET", args.app_secret_name, "--app-secret-name"),
    )
    verify_challenge_resource = flag_bool(
        "KEY_VAULT_VERIFY_CHALLENGE_RESOURCE",
        source.require("KEY_VAULT_VERIFY_CHALLENGE_RESOURCE", None, ""),
    )
    expires_on = _expiry(args.app_secret_expires, deps.now().date())
    # Before anything is asked for: in local mode a missing emulator setting stops here.
    sign_in = deps.credential(vault_url)
    app_id = application_id(args.app_id or _ask(deps, "Application (client) ID: "))
    app_secret = _app_secret(args.app_secret_file, deps)

    console = deps.console
    with Vault(vault_url, sign_in, verify_challenge_resource=verify_challenge_resource) as vault:
        app_id_version = vault.write(app_id_name, app_id)
        console.say(f"stored {app_id_name} version {app_id_version}")
        try:
            secret_version = vault.write(app_secret_name, app_secret, expires_on=expires_on)
        except OpsError as failure:
            raise OpsError(
                f"{failure} The app ID was stored; the app secret was not: run this again."
            ) from None
    expiry = f" (expires {expires_on.date().isoformat()})" if expires_on else ""
    console.say(f"stored {app_secret_name} version {secret_version}{expiry}")
    return grant_app_roles(args, deps, source, vault_url)


def _ask(deps: Deps, prompt: str) -> str:
    try:
        return deps.prompt_text(prompt)
    except NoTerminal:
        raise OpsError("Pass --app-id: there is no terminal to ask for it.") from None


def _app_secret(path: str | None, deps: Deps) -> str:
    if path is None:
        try:
            value = deps.prompt_secret("App secret (not shown): ")
        except NoTerminal:
            raise OpsError(
                "There is no terminal to ask for the app secret unseen: pass"
                " --app-secret-file PATH (or - to read standard input)."
            ) from None
        source = "the prompt"
    else:
        value = _read_secret_file(path)
        source = "standard input" if path == "-" else path
    value = value.strip()
    if not value:
        raise OpsError(f"The app secret from {source} is empty: nothing was stored.")
    if "\n" in value or "\r" in value:
        raise OpsError(
            f"The app secret from {source} spans several lines: it must be one line."
            " Nothing was stored."
        )
    return value


def _read_secret_file(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OpsError(
            f"Could not read the app secret file {path} ({type(exc).__name__})."
        ) from None


def _expiry(value: str | None, today: date) -> datetime | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise OpsError("--app-secret-expires must be a date as YYYY-MM-DD.") from None
    if day <= today:
        raise OpsError(
            f"--app-secret-expires {value} is not in the future: renew the secret in Entra"
            " first, then store the new one."
        )
    # Midnight UTC at the start of that day: the health check warns early rather than late.
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
