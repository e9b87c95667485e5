"""The `python3 -m ops` entry point: bootstrapping, dispatch and how failures are reported."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken

from dev.bootstrap import REQUIREMENTS, STAMP, VENV
from dev.emulators import samples as s
from ops.cli import EXIT_UNEXPECTED

from .conftest import CANARY_TYPED_SECRET, Operator

ROOT = Path(__file__).resolve().parents[2]
APP_ID = "0f1e2d3c-4b5a-4697-8877-665544332211"


def _ops(python: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed argv
        [python, "-m", "ops", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_lists_both_commands() -> None:
    completed = _ops(sys.executable, "--help")

    assert completed.returncode == 0, completed.stderr
    assert "secrets" in completed.stdout
    assert "consent" in completed.stdout


def _venv_is_current() -> bool:
    if Path(sys.prefix).resolve() != VENV.resolve() or not STAMP.exists():
        return False
    digest = hashlib.sha256()
    for path in REQUIREMENTS:
        digest.update(path.read_bytes())
    return STAMP.read_text().strip() == digest.hexdigest()


@pytest.mark.skipif(not _venv_is_current(), reason="needs the project's own, up-to-date virtualenv")
def test_the_bare_interpreter_re_runs_the_command_in_the_virtualenv() -> None:
    # The interpreter the virtualenv was made from has none of the requirements: the
    # command must get to argparse (and azure-identity) through .venv.
    base = Path(sys.base_prefix) / "bin" / "python3"
    if not base.exists():
        pytest.skip("no base interpreter beside this virtualenv")

    completed = _ops(str(base), "consent", "--help")

    assert completed.returncode == 0, completed.stderr
    assert "--redirect-uri" in completed.stdout


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from ops.cli import main

    with pytest.raises(SystemExit) as exited:
        main([])

    assert exited.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


class _Broken:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        raise RuntimeError(f"upstream said {CANARY_TYPED_SECRET}")


def test_a_vault_failure_of_any_kind_is_named_by_its_type_only(operator: Operator) -> None:
    operator.credential = _Broken
    operator.secret_answers.append("Another~Secret.0000")
    operator.extra_secrets.append("Another~Secret.0000")

    outcome = operator.run("secrets", "--app-id", APP_ID)

    assert outcome.code == 1
    assert f"Could not write secret '{s.SECRET_NAME_APP_ID}'" in outcome.err
    assert "(RuntimeError)" in outcome.err
    assert CANARY_TYPED_SECRET not in outcome.err


def _no_credential() -> Any:
    raise RuntimeError(f"upstream said {CANARY_TYPED_SECRET}")


def test_an_unexpected_error_is_named_by_its_type_only(operator: Operator) -> None:
    operator.credential = _no_credential
    operator.secret_answers.append("Another~Secret.0000")
    operator.extra_secrets.append("Another~Secret.0000")

    outcome = operator.run("secrets", "--app-id", APP_ID)

    assert outcome.code == EXIT_UNEXPECTED
    assert "unexpected" in outcome.err
    assert CANARY_TYPED_SECRET not in outcome.err


def test_ops_is_never_deployed() -> None:
    ignored = (ROOT / ".funcignore").read_text(encoding="utf-8").split()
    assert "ops/" in ignored
