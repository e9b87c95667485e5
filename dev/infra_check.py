"""Offline checks of infra/: checkov over the Bicep templates, then the tests in tests/infra.

    python3 dev/infra_check.py

Both run in their own virtualenv, .venv-infra, built from requirements-infra.txt: checkov
pins many dependencies that would clash with the app's. The virtualenv is (re)installed only
when requirements-infra.txt changes (its sha256 is kept in the virtualenv). Nothing here
contacts Azure.

Only the standard library is used here: this runs under the bare system Python.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("INFRA_VENV", ROOT / ".venv-infra"))
REQUIREMENTS = ROOT / "requirements-infra.txt"
STAMP = VENV / ".requirements-infra.sha256"
PYTEST_NO_TESTS = 5

CHECKOV_ARGS = ["--framework", "bicep", "--skip-download", "--quiet", "--compact", "-d", "infra"]
# Printed by checkov whenever it scanned at least one Bicep resource.
CHECKOV_SUMMARY = "bicep scan results"


def _bin(name: str) -> Path:
    return (
        VENV
        / ("Scripts" if os.name == "nt" else "bin")
        / (name + (".exe" if os.name == "nt" else ""))
    )


def _header(title: str) -> None:
    print(f"==> infra: {title}", flush=True)


def ensure_infra_venv() -> Path:
    """Return the infra virtualenv's python, installing requirements-infra.txt when it changed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - the bare system Python may be older
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
    python = _bin("python")
    if not python.exists():
        print(f"creating virtualenv in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text().strip() != wanted:
        print(
            f"installing {REQUIREMENTS.name} into {VENV.name} (first time: about a minute)",
            flush=True,
        )
        started = time.monotonic()
        subprocess.run(  # noqa: S603 - fixed argv, our own interpreter
            [str(python), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
            check=True,
        )
        STAMP.write_text(wanted)
        print(f"installed in {time.monotonic() - started:.0f} s", flush=True)
    return python


def run_checkov() -> int:
    """checkov over infra/; fails on any failed check, and when it scanned nothing at all."""
    _header("checkov (bicep)")
    env = {**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"}  # no look-up on PyPI
    result = subprocess.run(  # noqa: S603 - fixed argv, our own virtualenv
        [str(_bin("checkov")), *CHECKOV_ARGS],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    print(result.stdout, end="", flush=True)
    if result.returncode != 0:
        print(f"checkov failed with exit code {result.returncode}", flush=True)
        return result.returncode
    if CHECKOV_SUMMARY not in result.stdout:
        print("checkov scanned no Bicep resource: that is a failure here", flush=True)
        return 1
    return 0


def run_pytest(python: Path, extra: list[str]) -> int:
    """tests/infra with the infra virtualenv's pytest, apart from the app's tests."""
    _header("pytest tests/infra")
    argv = [
        str(python),
        "-m",
        "pytest",
        "tests/infra",
        # The project's addopts may --ignore tests/infra for the main run; the rest is kept.
        "-o",
        "addopts=-ra --strict-markers",
        # conftest.py files above tests/infra belong to the app's tests and need its packages.
        "--confcutdir",
        "tests/infra",
        "-p",
        "no:cacheprovider",
        *extra,
    ]
    code = subprocess.run(argv, cwd=ROOT, check=False).returncode  # noqa: S603
    if code == PYTEST_NO_TESTS:
        print("pytest collected no tests in tests/infra: that is a failure here", flush=True)
        return 1
    if code != 0:
        print(f"pytest tests/infra failed with exit code {code}", flush=True)
    return code


def main() -> int:
    _header(f"virtualenv {VENV.name}")
    python = ensure_infra_venv()
    # Both steps run even when the first fails, so one run shows every problem.
    checkov_code = run_checkov()
    pytest_code = run_pytest(python, sys.argv[1:])
    return checkov_code or pytest_code


if __name__ == "__main__":
    sys.exit(main())
