"""The test command: ruff, mypy and pytest, in the project's virtualenv.

python3 dev/test.py            # everything
python3 dev/test.py -k name    # extra arguments go to pytest
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dev.bootstrap import ROOT, reexec_in_venv

PYTEST_NO_TESTS = 5


def main() -> int:
    reexec_in_venv(Path(__file__))
    steps = [
        ("ruff", [sys.executable, "-m", "ruff", "check", "."]),
        ("mypy", [sys.executable, "-m", "mypy"]),
        ("pytest", [sys.executable, "-m", "pytest", *sys.argv[1:]]),
        # Bicep parsing and checkov run in their own virtualenv (their pins clash with ours).
        ("infra", [sys.executable, str(ROOT / "dev" / "infra_check.py")]),
    ]
    for name, argv in steps:
        print(f"==> {name}", flush=True)
        code = subprocess.run(argv, cwd=ROOT, check=False).returncode  # noqa: S603
        if code == PYTEST_NO_TESTS and name == "pytest":
            print("pytest collected no tests: that is a failure here", flush=True)
            return 1
        if code != 0:
            print(f"{name} failed with exit code {code}", flush=True)
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
