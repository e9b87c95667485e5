"""The Node packages of the dev commands and the tests (Azurite, the Kusto language
service), installed into `dev/node/node_modules` (git-ignored) from the committed
`dev/node/package-lock.json` with `npm ci`: on first use, and again whenever the lock file
changes (its sha256 is kept beside the packages). Never deployed.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "dev" / "node"
NODE_MODULES = NODE_DIR / "node_modules"
_STAMP = NODE_MODULES / ".package-lock.sha256"


class NodeToolsUnavailable(RuntimeError):
    """Node.js or npm is missing, or `npm ci` failed; the message says what to do."""


def _lock_digest() -> str:
    return hashlib.sha256((NODE_DIR / "package-lock.json").read_bytes()).hexdigest()


def ensure_installed(*needed: Path) -> None:
    """Every package of the lock file installed, and each path in `needed` present."""
    wanted = _lock_digest()
    current = _STAMP.exists() and _STAMP.read_text().strip() == wanted
    if current and all(path.exists() for path in needed):
        return
    npm = shutil.which("npm")
    if npm is None:
        raise NodeToolsUnavailable(
            "the dev tools need Node.js and npm (Debian: apt-get install -y nodejs npm)"
        )
    print("installing the Node dev tools into dev/node/node_modules (npm ci)", flush=True)
    done = subprocess.run(  # noqa: S603 - fixed argv
        [npm, "ci", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund", "--loglevel=error"],
        check=False,
    )
    missing = [str(path) for path in needed if not path.exists()]
    if done.returncode != 0 or missing:
        raise NodeToolsUnavailable(
            f"npm ci in {NODE_DIR} failed (exit code {done.returncode}; missing: {missing})"
        )
    _STAMP.write_text(wanted)


def node() -> str:
    """The `node` command."""
    found = shutil.which("node")
    if found is None:
        raise NodeToolsUnavailable("Node.js is needed (Debian: apt-get install -y nodejs npm)")
    return found
