"""`python3 -m ops <command>` from the repository root, under any python3.

Only the standard library is used until the project's virtualenv runs this module: a
fresh clone's bare system python first creates .venv (dev/bootstrap.py), then re-runs
the same command there.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _reexec_in_venv() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from dev.bootstrap import VENV, ensure_venv  # noqa: PLC0415 - needs ROOT on sys.path

    python = ensure_venv()
    if Path(sys.prefix).resolve() != VENV.resolve():
        argv = [str(python), "-m", "ops", *sys.argv[1:]]
        os.execv(str(python), argv)  # noqa: S606 - our own virtualenv's interpreter


def main() -> int:
    _reexec_in_venv()
    from ops.cli import main as run  # noqa: PLC0415 - only inside the virtualenv

    return run()


if __name__ == "__main__":
    sys.exit(main())
