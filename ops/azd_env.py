"""Settings from the Azure Developer CLI environment (`azd env get-values`), when azd exists.

Optional: without azd, or outside an azd project, the commands rely on flags and
environment variables alone.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

AZD_TIMEOUT_S = 30.0
_ESCAPES = {"n": "\n", '"': '"', "\\": "\\", "$": "$"}


def read_azd_environment(project: Path) -> dict[str, str]:
    """The selected azd environment's values, or {} when azd is absent or fails."""
    azd = shutil.which("azd")
    if azd is None:
        return {}
    try:
        completed = subprocess.run(  # noqa: S603 - fixed argv, azd found on PATH
            [azd, "env", "get-values", "--no-prompt"],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=AZD_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return {}
    if completed.returncode != 0:
        return {}
    return parse_env_values(completed.stdout)


def parse_env_values(text: str) -> dict[str, str]:
    """Parse azd's dotenv output: NAME="value" lines, double-quoted with backslash escapes."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        values[name.strip()] = _unquote(value.strip())
    return values


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    if not (len(value) >= 2 and value[0] == value[-1] == '"'):
        return value
    inner, out, index = value[1:-1], [], 0
    while index < len(inner):
        char = inner[index]
        if char == "\\" and index + 1 < len(inner):
            following = inner[index + 1]
            out.append(_ESCAPES.get(following, "\\" + following))
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)
