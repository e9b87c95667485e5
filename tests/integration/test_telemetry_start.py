"""At start-up the export is on exactly when APPLICATIONINSIGHTS_CONNECTION_STRING is set.

Each spec imports the app in a fresh interpreter, as a cold worker does: without the
setting nothing of OpenTelemetry is loaded (a cold start pays nothing for it); with it,
what the process logs reaches the ingestion endpoint, flushed when the process exits.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from dev.emulators.app_insights import IngestionEmulator
from dev.emulators.ledger import TokenLedger
from shared.settings import SETTING_NAMES
from worker.telemetry import SDK_EXTRAS_OFF

ROOT = Path(__file__).resolve().parents[2]
PROBE_LINE = "telemetry start-up probe"
PROBE = textwrap.dedent(
    f"""
    import json, logging, sys
    import function_app
    logging.getLogger("probe").warning({PROBE_LINE!r})
    loaded = sorted(
        name for name in sys.modules
        if name.partition(".")[0] == "opentelemetry" or name.startswith("azure.monitor")
    )
    print(json.dumps(loaded))
    """
)


@pytest.fixture
def ingestion() -> Iterator[IngestionEmulator]:
    # No identity in the child process: ingestion with the key alone, as with local auth on.
    with IngestionEmulator(TokenLedger(), require_token=False) as emulator:
        yield emulator


def import_the_app(settings: Mapping[str, str], tmp_path: Path) -> list[str]:
    """Import function_app in a new interpreter; the OpenTelemetry modules it loaded."""
    env = {name: value for name, value in os.environ.items() if name not in SETTING_NAMES}
    # The exporter keeps refused batches under the temp dir: this test's, not the machine's.
    env |= {**SDK_EXTRAS_OFF, "TMPDIR": str(tmp_path), **settings}
    done = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_without_a_connection_string_the_app_loads_nothing_of_opentelemetry(
    tmp_path: Path,
) -> None:
    assert import_the_app({}, tmp_path) == []


def test_with_a_connection_string_the_process_exports_what_it_logs(
    ingestion: IngestionEmulator, tmp_path: Path
) -> None:
    loaded = import_the_app(
        {"APPLICATIONINSIGHTS_CONNECTION_STRING": ingestion.connection_string}, tmp_path
    )

    assert "azure.monitor.opentelemetry.exporter" in loaded
    assert [e for e in ingestion.messages() if PROBE_LINE in e.message]
