"""Azurite, Microsoft's Azure Storage emulator (npm package `azurite`), for the dev commands
and the tests: the `secretlinks` table (and the batch queue) run against the real
`azure-data-tables` code, never a fake.

Installed on first use into `dev/node/node_modules` (git-ignored) from the committed
`dev/node/package-lock.json`, with npm (dev/node_tools.py); started on ports the system
picks, its data in a temporary folder, telemetry off; stopped (and its data removed) on
exit.

    python -m dev.azurite     # install, start, print the connection string, wait for Ctrl-C
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dev.node_tools import NODE_MODULES, NodeToolsUnavailable
from dev.node_tools import ensure_installed as ensure_node_tools

BINARY = NODE_MODULES / ".bin" / ("azurite.cmd" if os.name == "nt" else "azurite")

# Azurite's single account and its key, both published in Azurite's documentation: they
# open nothing but a local emulator.
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
# dev/test.py hands its running instance to pytest under this name.
CONNECTION_STRING_VARIABLE = "AZURITE_CONNECTION_STRING"
START_TIMEOUT_SECONDS = 30.0
_LISTENING = re.compile(
    r"Azurite (Blob|Queue|Table) service is successfully listening at \S+:(\d+)"
)


class AzuriteUnavailable(RuntimeError):
    """Azurite could not be installed or started; the message says what to do."""


@dataclass(frozen=True)
class Azurite:
    blob_port: int
    queue_port: int
    table_port: int

    @property
    def connection_string(self) -> str:
        base = f"http://127.0.0.1:{{}}/{ACCOUNT}"
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={base.format(self.blob_port)};"
            f"QueueEndpoint={base.format(self.queue_port)};"
            f"TableEndpoint={base.format(self.table_port)};"
        )


def ensure_installed() -> Path:
    """The azurite command, installed from the lock file when absent or out of date."""
    try:
        ensure_node_tools(BINARY)
    except NodeToolsUnavailable as exc:
        raise AzuriteUnavailable(str(exc)) from exc
    return BINARY


@contextmanager
def running_azurite() -> Iterator[Azurite]:
    """A fresh Azurite on 127.0.0.1, empty, stopped and wiped on exit."""
    binary = ensure_installed()
    with tempfile.TemporaryDirectory(prefix="azurite-") as location:
        process = subprocess.Popen(  # noqa: S603 - fixed argv
            [
                str(binary),
                "--silent",
                "--blobHost",
                "127.0.0.1",
                "--queueHost",
                "127.0.0.1",
                "--tableHost",
                "127.0.0.1",
                "--blobPort",
                "0",
                "--queuePort",
                "0",
                "--tablePort",
                "0",
                "--skipApiVersionCheck",
                "--disableTelemetry",
                # Nothing outlives the run, so nothing is written to disk: LokiJS's saves
                # took Azurite's CPU from the tests and the bench on the same two cores.
                "--inMemoryPersistence",
            ],
            # Where anything it might still write lands, wiped on exit.
            cwd=location,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # Its own process group: stopping it stops node and nothing else.
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - sets one flag before exec
        )
        try:
            yield _wait_until_listening(process)
        finally:
            _stop(process)


def _die_with_parent() -> None:
    """Linux: the emulator gets SIGTERM when the process that started it dies, however it
    dies (a kill, a crash), so no Azurite outlives its test run or `dev/run.py`."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _wait_until_listening(process: subprocess.Popen[str]) -> Azurite:
    ports: dict[str, int] = {}
    ready = threading.Event()
    output: list[str] = []

    def read() -> None:
        # Drains the pipe for the emulator's whole life, so it never blocks on a write.
        assert process.stdout is not None
        for line in process.stdout:
            if not ready.is_set():
                output.append(line.rstrip())
                found = _LISTENING.search(line)
                if found:
                    ports[found.group(1)] = int(found.group(2))
                    if len(ports) == 3:
                        ready.set()
        ready.set()

    threading.Thread(target=read, name="azurite-output", daemon=True).start()
    if not ready.wait(START_TIMEOUT_SECONDS) or len(ports) != 3:
        said = " / ".join(output[-5:]) or "nothing"
        raise AzuriteUnavailable(f"Azurite did not start (it said: {said})")
    return Azurite(ports["Blob"], ports["Queue"], ports["Table"])


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


def main() -> int:
    with running_azurite() as azurite:
        print(f"Azurite is running.\nAzureWebJobsStorage={azurite.connection_string}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("stopping")
    return 0


if __name__ == "__main__":
    sys.exit(main())
