"""The azd postprovision hook (infra/hooks/postprovision.py), loaded into this process.

The operator commands grant the app's per-secret Key Vault roles with the hook's own code, so
there is one plan for who may read and write which secret, whichever of azd or `python3 -m
ops` runs it. The hook is standard-library Python outside any package (azd runs it as a
script), hence loaded from its file; it is loaded only when a grant is due.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from pathlib import Path
from types import ModuleType

HOOK = Path(__file__).resolve().parent.parent / "infra" / "hooks" / "postprovision.py"
RETRY_COMMAND = "azd hooks run postprovision"

# The hook's command runner: argv in, stdout out, its CommandError raised on failure.
Runner = Callable[[Sequence[str]], str]


@cache
def load_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ops_postprovision_hook", HOOK)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {HOOK}")
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs: its dataclasses look their module up in sys.modules.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run_az(argv: Sequence[str]) -> str:
    """The hook's own runner for `az`: argument lists, no shell, errors that name the command."""
    run: Runner = load_hook().run
    return run(argv)


def run_hook(environ: Mapping[str, str], runner: Runner) -> int:
    """The hook's main with the azd environment's values handed in; its exit code."""
    main: Callable[[Sequence[str], Mapping[str, str], Runner], int] = load_hook().main
    try:
        return main([], environ, runner)
    except SystemExit as stop:
        # The hook exits when the azd environment lacks a value it needs, having said which.
        return stop.code if isinstance(stop.code, int) else 1
