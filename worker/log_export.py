"""The log pipeline to Application Insights: a root handler, OpenTelemetry's log SDK and
the Azure Monitor exporter. Imported only when export is on (`worker.telemetry`).

Logs only, built here rather than with the distro's `configure_azure_monitor()`: that
sets process-wide providers once and for all, and starts tracing, metrics, live metrics
and instrumentations. Nothing here instruments an HTTP client, so no request URL (a
function key in `?code=`, a token in a query) can reach telemetry through a span; what
is exported is exactly what the app logs, which the never-leak rule already covers.

What the exporter does with a record's attributes: each becomes a custom dimension,
`str(value)` cut at 8 KiB; a mapping would arrive as its Python repr in one dimension.
So a structured event's `custom_dimensions` (`shared.log.log_event`) is replaced by one
attribute per field before OpenTelemetry sees the record: text as it is, anything else
as compact JSON.

No sampling: the batch processor exports every record; no trace decision can drop one.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass

from azure.identity import ManagedIdentityCredential
from azure.monitor.opentelemetry.exporter import AzureMonitorLogExporter
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.resource.detector.azure.functions import AzureFunctionsResourceDetector
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource

from shared.log import CUSTOM_DIMENSIONS_FIELD
from shared.settings import TelemetrySettings

# Records of these loggers stay with the host: the exporter logs about its sends, and such
# a record, exported, would be the next send's reason.
_NOT_EXPORTED = ("azure.monitor.opentelemetry", "opentelemetry")
# A field becomes its own dimension only under a plain name: a dotted one could pose as
# an attribute the exporter reads for itself (`microsoft.custom_event.name`, `exception.*`).
_DIMENSION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
FLUSH_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class LogExport:
    """The running export: the root logger's handler and the provider behind it."""

    provider: LoggerProvider
    handler: logging.Handler

    def flush(self, timeout_ms: int = FLUSH_TIMEOUT_MS) -> bool:
        """Send what is queued now (the batch processor otherwise waits up to 5 s)."""
        return self.provider.force_flush(timeout_ms)

    def stop(self) -> None:
        logging.getLogger().removeHandler(self.handler)
        self.provider.shutdown()


def start(settings: TelemetrySettings, *, storage_directory: str | None = None) -> LogExport:
    exporter = AzureMonitorLogExporter(
        connection_string=settings.connection_string,
        # Always given, None included: the exporter would otherwise read
        # APPLICATIONINSIGHTS_AUTHENTICATION_STRING itself, past the settings' checks.
        credential=_credential(settings),
        **({"storage_directory": storage_directory} if storage_directory else {}),
    )
    resource = Resource.create().merge(AzureFunctionsResourceDetector().detect())
    provider = LoggerProvider(resource=resource)
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
    handler = DimensionsHandler(level=logging.INFO, logger_provider=provider)
    handler.addFilter(_exportable)
    logging.getLogger().addHandler(handler)
    return LogExport(provider, handler)


def _credential(settings: TelemetrySettings) -> ManagedIdentityCredential | None:
    if not settings.entra_ingestion:
        return None
    # A redirect would carry the identity header elsewhere.
    return ManagedIdentityCredential(client_id=settings.ingestion_client_id, permit_redirects=False)


def _exportable(record: logging.LogRecord) -> bool:
    # Nothing written inside the exporter's own send (its credential, its HTTP client) is
    # exported: a record queued from within a flush deadlocks it.
    return is_instrumentation_enabled() and not record.name.startswith(_NOT_EXPORTED)


class DimensionsHandler(LoggingHandler):
    """OpenTelemetry's logging handler, with a structured event's fields one custom
    dimension each in place of the mapping.

    Done on a copy of the record, before OpenTelemetry sees it: the SDK would clean a
    nested mapping on its own terms (dropping keys it dislikes, with a warning), and the
    other handlers (the host's, the tests') keep the record as it was. Attributes already
    on the record (`logger`, `event`, `correlation_id`) win over a field of the same name.
    """

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, CUSTOM_DIMENSIONS_FIELD, None)
        if fields is not None:
            record = fields_as_attributes(record, fields)
        super().emit(record)


def fields_as_attributes(record: logging.LogRecord, fields: object) -> logging.LogRecord:
    flat = copy.copy(record)
    del flat.__dict__[CUSTOM_DIMENSIONS_FIELD]
    if isinstance(fields, Mapping):
        for name, value in fields.items():
            if value is None or not isinstance(name, str) or not _DIMENSION_NAME.fullmatch(name):
                continue
            if name not in flat.__dict__:
                flat.__dict__[name] = dimension(value)
    return flat


def dimension(value: object) -> str:
    """How a field's value is shown: text as it is, anything else as its JSON (`true`, not
    Python's `True`; a mapping or list a query can `parse_json`), in ASCII."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"), default=str)
