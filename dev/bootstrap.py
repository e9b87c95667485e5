"""Create or refresh the project's virtualenv so each dev command works on a fresh clone.

Only the standard library is used here: this runs under the bare system Python before
anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("PROJECT_VENV", ROOT / ".venv"))
REQUIREMENTS = (ROOT / "requirements.txt", ROOT / "requirements-dev.txt")
STAMP = VENV / ".requirements.sha256"


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _requirements_digest() -> str:
    digest = hashlib.sha256()
    for path in REQUIREMENTS:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_venv() -> Path:
    """Return the virtualenv's python, installing requirements when they changed."""
    python = venv_python()
    if not python.exists():
        print(f"creating virtualenv in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    wanted = _requirements_digest()
    if not STAMP.exists() or STAMP.read_text().strip() != wanted:
        print("installing requirements-dev.txt into the virtualenv", flush=True)
        subprocess.run(  # noqa: S603 - fixed argv, our own interpreter
            [str(python), "-m", "pip", "install", "-q", "-r", str(ROOT / "requirements-dev.txt")],
            check=True,
        )
        STAMP.write_text(wanted)
    return python


def reexec_in_venv(script: Path) -> None:
    """Re-run `script` under the virtualenv's python unless already there."""
    python = ensure_venv()
    if Path(sys.prefix).resolve() != VENV.resolve():
        os.execv(str(python), [str(python), str(script), *sys.argv[1:]])  # noqa: S606
