"""Application Insights export of the worker's own log records, started once per process.

The Functions host forwards only the message text of a Python log record; the record's
fields (`logger`, `event`, the audit's identifiers and outcome) reach `customDimensions`
only when the worker exports its records itself, through OpenTelemetry and the Azure
Monitor exporter (`worker/log_export.py`). That happens when
APPLICATIONINSIGHTS_CONNECTION_STRING is set; without it nothing of OpenTelemetry is
imported, so a cold start pays nothing.

The host's forwarding goes on beside it: should the export fail (identity, network), the
message text still arrives as before.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from shared.settings import SettingsError, load_telemetry_settings

if TYPE_CHECKING:
    from worker.log_export import LogExport

logger = logging.getLogger("startup")

# What the exporter does besides sending our records, off: statistics about itself sent
# to Microsoft's statsbeat resources, the remote configuration ("OneSettings") it polls
# from Microsoft, and usage metrics about itself sent to our resource (a metrics pipeline
# and thread of their own, outliving a stopped export). The SDK reads these from the
# environment itself; infra/app/function.bicep sets them.
SDK_EXTRAS_OFF = {
    "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
    "APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED": "true",
    "APPLICATIONINSIGHTS_SDKSTATS_DISABLED": "true",
}

_lock = threading.Lock()
_export: LogExport | None = None


def start_log_export(
    environ: Mapping[str, str] | None = None, *, storage_directory: str | None = None
) -> LogExport | None:
    """Export every log record the process writes (INFO and up) to Application Insights,
    if APPLICATIONINSIGHTS_CONNECTION_STRING is set; None when it is not, or when the
    export cannot start (the problem is logged, naming settings, never their values).

    Once per process: a second call hands back the running export. `storage_directory`
    is where the exporter keeps batches the service refused for a retry (tests point it
    at a temporary directory; in Azure the exporter's default under the temp dir).
    """
    global _export  # noqa: PLW0603 - one export per process is the point
    with _lock:
        if _export is not None:
            return _export
        try:
            settings = load_telemetry_settings(environ)
        except SettingsError as exc:
            for problem in exc.problems:
                logger.error("App setting problem: %s", problem)
            return None
        if not settings.export_enabled:
            return None
        # Imported only now: without a connection string, nothing of OpenTelemetry loads.
        from worker import log_export  # noqa: PLC0415

        try:
            _export = log_export.start(settings, storage_directory=storage_directory)
        except Exception as exc:  # noqa: BLE001 - telemetry must never stop the function
            logger.error(
                "Application Insights export not started (%s); the host still forwards "
                "message text.",
                type(exc).__name__,
            )
            return None
        return _export


def stop_log_export() -> None:
    """Flush and stop the export (tests; the process's exit does the same on its own)."""
    global _export
    with _lock:
        running, _export = _export, None
    if running is not None:
        running.stop()
