"""The test command: ruff (lint and format), mypy and pytest, in the project's virtualenv.

python3 dev/test.py            # everything
python3 dev/test.py -k name    # extra arguments go to pytest

pytest runs with Azurite (Azure Storage's emulator) started on free ports for the run and
stopped after it; Azurite and Microsoft's Kusto language service, which checks every query
in infra/queries, are installed into dev/node from its lock file on first use (and again
when the lock file changes). The browser specs use the distribution's Chromium when it is
installed (.ci/run installs it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dev.azurite import CONNECTION_STRING_VARIABLE, running_azurite
from dev.bootstrap import ROOT, reexec_in_venv

PYTEST_NO_TESTS = 5


def steps(pytest_arguments: list[str]) -> list[tuple[str, list[str]]]:
    """Each step's name and command, in the order they run; the first failure stops."""
    return [
        ("ruff", [sys.executable, "-m", "ruff", "check", "."]),
        # The formatter's verdict, not its rewrite: a run never changes the tree.
        ("ruff format", [sys.executable, "-m", "ruff", "format", "--check", "."]),
        ("mypy", [sys.executable, "-m", "mypy"]),
        ("pytest", [sys.executable, "-m", "pytest", *pytest_arguments]),
        # Bicep parsing and checkov run in their own virtualenv (their pins clash with ours).
        ("infra", [sys.executable, str(ROOT / "dev" / "infra_check.py")]),
    ]


def main() -> int:
    reexec_in_venv(Path(__file__))
    for name, argv in steps(sys.argv[1:]):
        print(f"==> {name}", flush=True)
        code = _run_pytest(argv) if name == "pytest" else _run(argv)
        if code == PYTEST_NO_TESTS and name == "pytest":
            print("pytest collected no tests: that is a failure here", flush=True)
            return 1
        if code != 0:
            print(f"{name} failed with exit code {code}", flush=True)
            return code
    return 0


def _run(argv: list[str], env: dict[str, str] | None = None) -> int:
    return subprocess.run(argv, cwd=ROOT, env=env, check=False).returncode  # noqa: S603


def _run_pytest(argv: list[str]) -> int:
    with running_azurite() as azurite:
        return _run(argv, {**os.environ, CONNECTION_STRING_VARIABLE: azurite.connection_string})


if __name__ == "__main__":
    sys.exit(main())
