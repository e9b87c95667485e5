"""Running `az` and `azd` for the azd hooks in this folder.

Argument lists only (no shell), output parsed as JSON, and errors that say which command
failed and what it printed on stderr. Nothing here reads or prints a secret value: the hooks
ask Azure Resource Manager for names, IDs and role assignments only.

Standard library only: azd runs the hooks with the operator's own python3.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

# A command runner: argv in, stdout out; raises CommandError. Tests hand in a fake.
Runner = Callable[[Sequence[str]], str]


class CommandError(Exception):
    """A command failed or could not be started; the message says which and why."""


def run(argv: Sequence[str]) -> str:
    """Run `argv` (its first item looked up on PATH) and return its stdout."""
    executable = shutil.which(argv[0])
    if executable is None:
        raise CommandError(f"'{argv[0]}' is not installed or not on PATH")
    result = subprocess.run(  # noqa: S603 - argv list from this module, no shell
        [executable, *argv[1:]],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        detail = result.stderr.strip().splitlines()
        reason = detail[-1] if detail else f"exit code {result.returncode}"
        raise CommandError(f"'{' '.join(argv[:3])} ...' failed: {reason}")
    return result.stdout


def az_json(runner: Runner, *args: str) -> Any:
    """`az <args> --output json`, parsed; None when az printed nothing."""
    out = runner(["az", *args, "--output", "json"])
    return json.loads(out) if out.strip() else None


def az_rest_get_all(runner: Runner, url: str) -> list[dict[str, Any]]:
    """Every item of an Azure Resource Manager list, following nextLink.

    `url` is relative (a resource ID path with its query), so `az rest` prefixes the Resource
    Manager endpoint of the current cloud and signs in for the subscription in the path.
    """
    items: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        page = az_json(runner, "rest", "--method", "get", "--url", next_url)
        if not isinstance(page, dict):
            break
        items.extend(item for item in page.get("value", []) if isinstance(item, dict))
        next_url = page.get("nextLink")
    return items


def azd_environment(runner: Runner, environ: Mapping[str, str]) -> Mapping[str, str]:
    """The azd environment's values: azd hands them to a hook; run by hand, ask azd for them."""
    if environ.get("AZURE_ENV_NAME"):
        return environ
    try:
        values = json.loads(runner(["azd", "env", "get-values", "--output", "json"]))
    except (CommandError, json.JSONDecodeError):
        return environ
    if not isinstance(values, dict):
        return environ
    return {**{k: str(v) for k, v in values.items()}, **environ}


def required(environ: Mapping[str, str], *names: str) -> list[str]:
    """The values of azd environment variables, or exit naming the ones that are missing."""
    missing = [name for name in names if not environ.get(name, "").strip()]
    if missing:
        say(
            f"missing azd environment values: {', '.join(missing)}. "
            "Run 'azd provision' (or 'azd env refresh') first."
        )
        sys.exit(1)
    return [environ[name].strip() for name in names]


def say(message: str) -> None:
    """One line for the operator, on stdout (azd shows hook output as it comes)."""
    sys.stdout.write(message + "\n")
    sys.stdout.flush()
