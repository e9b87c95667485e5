"""What the commands take from the world, in one place so that tests can hand in their own.

Tests pass an environment, a sign-in for the Key Vault emulator, a "browser" that
follows the sign-in redirect itself, canned prompts, planted PKCE values and a fake Azure CLI.
"""

from __future__ import annotations

import getpass
import os
import sys
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ops.azd_env import read_azd_environment
from ops.console import Console
from ops.credentials import SignIn, sign_in_for
from ops.errors import NoTerminal
from ops.pkce import Proof, new_proof
from ops.postprovision import Runner, run_az

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Deps:
    console: Console
    environ: Mapping[str, str]
    azd_environment: Callable[[], Mapping[str, str]]
    # The sign-in for a command that calls the service at this URL (ops/credentials.py).
    credential: Callable[[str], SignIn]
    prompt_secret: Callable[[str], str]
    prompt_text: Callable[[str], str]
    confirm: Callable[[str], bool]
    open_browser: Callable[[str], bool]
    new_proof: Callable[[], Proof]
    now: Callable[[], datetime]
    # Runs `az` for the postprovision hook's role grants (tests: a fake Azure CLI).
    az: Runner


def default_deps() -> Deps:
    return Deps(
        console=Console(sys.stdout, sys.stderr),
        environ=os.environ,
        azd_environment=lambda: read_azd_environment(PROJECT_ROOT),
        credential=sign_in_for,
        prompt_secret=_prompt_secret,
        prompt_text=_prompt_text,
        confirm=_confirm,
        open_browser=_open_browser,
        new_proof=new_proof,
        now=lambda: datetime.now(UTC),
        az=run_az,
    )


def _interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _prompt_secret(prompt: str) -> str:
    # getpass falls back to echoing input when there is no terminal: refuse instead.
    if not _interactive():
        raise NoTerminal("Standard input is not a terminal, so a secret cannot be typed unseen.")
    return getpass.getpass(prompt)


def _prompt_text(prompt: str) -> str:
    if not _interactive():
        raise NoTerminal("Standard input is not a terminal, so nothing can be asked for.")
    return input(prompt)


def _confirm(question: str) -> bool:
    if not _interactive():
        return False
    return input(f"{question} [y/N] ").strip().lower() in {"y", "yes"}


def _open_browser(url: str) -> bool:
    # Without a display, webbrowser falls back to text browsers (lynx, w3m) that would
    # take over this terminal: let the operator open the printed URL instead.
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return False
    try:
        return webbrowser.open(url, new=1)
    except webbrowser.Error:
        return False
